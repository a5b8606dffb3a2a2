// The whole model against PyTorch: logits, loss, every gradient, 1 and 10 AdamW steps and
// the 10 losses, on the tiny and full fixtures and on the add+sub+mul mixture, whose loss is
// the sum of each task's mean loss (test/fixtures/README.md gives the tolerances).

import { test } from "node:test";
import assert from "node:assert/strict";
import { PARAM_NAMES } from "../src/core/model/params.js";
import { loadWeights, readCheckpoint } from "../src/core/io/checkpoint.js";
import { Model, totalLoss, type Batch } from "../src/core/model/model.js";
import { ReferencePath } from "../src/core/model/reference.js";
import { assertAllClose, assertCloseToMax, maxError, fixtureBytes, fixtureConfig, fixtureF32, fixtureF64, fixtureModel, fixtureSplit, MIXTURE_TASKS, newEngine, PATHS, type FixtureConfig, type FixtureName } from "./helpers.js";

const FIXTURES: FixtureName[] = ["tiny", "full", "mixture"];
/** The fixtures of one task, with logits, step-1 weights and a safetensors copy (the mixture has none of these). */
const hasLogits = (name: FixtureName): boolean => name !== "mixture";

// The README's tolerance for weights after t AdamW steps: an update is ~lr*g/(|g|+eps), so
// entries whose gradient is a cancellation near eps move by up to ~1e-5 on float32 rounding
// alone (PyTorch's own f32 vs f64 gradients: 12 entries of `full` beyond 1e-6). Bounds the
// worst entry and how many entries may differ by more than 1e-6 (1 in 5,000).
function assertStepWeights(model: Model, name: FixtureName, t: number, atol: number): void {
  let beyond = 0;
  let total = 0;
  for (const p of PARAM_NAMES) {
    const got = model.tensor(p);
    const want = fixtureF32(name, `adamw_step${t}/${p}.bin`);
    assertAllClose(`step ${t} ${p}`, got, want, atol);
    for (let i = 0; i < want.length; i++) if (Math.abs(got[i]! - want[i]!) > 1e-6) beyond++;
    total += want.length;
  }
  console.log(`  step ${t}: ${beyond} of ${total} entries differ by more than 1e-6`);
  assert.ok(beyond <= total / 5000, `step ${t}: ${beyond} of ${total} entries differ by more than 1e-6`);
}

// A batch's ReLU outputs if it keeps them, else its pre-activations: either is > 0 exactly
// where the neuron is active (the fast path keeps only the outputs).
function activations(batch: Batch, dims: Model["dims"]): Float32Array {
  return batch.rows(batch.fields["pre"] ? "pre" : "post", dims.d_mlp);
}

// The first neuron (of the same example) that the two batches put on different sides of the
// ReLU: whether it is active in `a`, and its pre-activation in `reference`; or null.
function reluDisagreement(dims: Model["dims"], a: Batch, reference: Batch): { active: boolean; pre: number } | null {
  const size = a.n * dims.d_mlp;
  const actA = activations(a, dims), preB = reference.rows("pre", dims.d_mlp);
  for (let i = 0; i < size; i++) if (actA[i]! > 0 !== preB[i]! > 0) return { active: actA[i]! > 0, pre: preB[i]! };
  return null;
}

for (const [pathName, makePath] of Object.entries(PATHS)) for (const name of FIXTURES) {
  const cfg = fixtureConfig(name);
  const adamw = { lr: cfg.hyperparameters.lr, beta1: cfg.hyperparameters.betas[0], beta2: cfg.hyperparameters.betas[1], eps: cfg.hyperparameters.eps, weight_decay: cfg.hyperparameters.weight_decay };

  if (hasLogits(name)) test(`${pathName} path, ${name}: logits and float64 loss match PyTorch`, async () => {
    const model = await fixtureModel(name);
    const path = makePath(model);
    const batch = path.newBatch(fixtureSplit(name, "train"), false);
    const loss = totalLoss(await path.evaluate(batch));
    const rows = cfg.logits_rows * cfg.d_vocab;
    const logits = model.logits(batch).subarray(0, rows);
    assertCloseToMax("logits vs f32", logits, fixtureF32(name, "train_logits.bin"), 1e-5);
    assertCloseToMax("logits vs f64", logits, fixtureF64(name, "train_logits_f64.bin"), 1e-5);
    console.log(`  loss ${loss} vs ${cfg.loss} (diff ${Math.abs(loss - cfg.loss).toExponential(2)})`);
    assert.ok(Math.abs(loss - cfg.loss) <= 1e-5 * cfg.loss);
  });

  if (name === "mixture") test(`${pathName} path, mixture: each task's float64 loss and their sum match PyTorch`, async () => {
    const want = fixtureConfig("mixture") as FixtureConfig & { per_task_loss: Record<string, number> };
    const model = await fixtureModel(name);
    const path = makePath(model);
    const results = await path.evaluate(path.newBatch(fixtureSplit(name, "train"), false));
    MIXTURE_TASKS.forEach(([file, task], i) => {
      console.log(`  ${task} loss ${results[i]!.loss} vs ${want.per_task_loss[file]}`);
      assert.ok(Math.abs(results[i]!.loss - want.per_task_loss[file]!) <= 1e-5 * want.per_task_loss[file]!, task);
    });
    console.log(`  summed loss ${totalLoss(results)} vs ${cfg.loss}`);
    assert.ok(Math.abs(totalLoss(results) - cfg.loss) <= 1e-5 * cfg.loss);
  });

  test(`${pathName} path, ${name}: every gradient matches PyTorch's float64 gradient`, async () => {
    const model = await fixtureModel(name);
    const path = makePath(model);
    const batch = path.newBatch(fixtureSplit(name, "train"), true);
    model.zeroGrad();
    await path.lossAndGrad(batch);
    for (const p of PARAM_NAMES) {
      assertCloseToMax(`d ${p}`, model.gradient(p), fixtureF64(name, `grads/${p}_f64.bin`), 1e-4);
    }
  });

  test(`${pathName} path, ${name}: 10 AdamW steps match PyTorch (weights after ${hasLogits(name) ? "1 and " : ""}10, the 11 losses)`, async () => {
    const model = await fixtureModel(name);
    const path = makePath(model);
    const batch = path.newBatch(fixtureSplit(name, "train"), true);
    // The reference path (which sums in PyTorch's order) runs alongside on the same examples.
    const twin = pathName === "reference" ? null : await fixtureModel(name);
    const reference = twin && new ReferencePath(twin);
    const refBatch = reference?.newBatch(batch.examples, true);
    const losses: number[] = [];
    let kink: { step: number; active: boolean; pre: number } | null = null;
    for (let t = 1; t <= 10; t++) {
      model.zeroGrad();
      losses.push(totalLoss(await path.lossAndGrad(batch)));
      if (twin && reference && refBatch) {
        twin.zeroGrad();
        await reference.lossAndGrad(refBatch);
        twin.adamwStep(adamw, t);
        kink ??= ((found) => found && { step: t, ...found })(reluDisagreement(model.dims, batch, refBatch));
      }
      model.adamwStep(adamw, t);
      if (t === 1 && hasLogits(name)) assertStepWeights(model, name, t, 3e-5);
    }
    // A pre-activation within float32 rounding of 0 (the ReLU kink) may land on the other side
    // than in PyTorch; AdamW carries that O(1) change of one neuron's gradient into every later
    // step. The fast path sums in another order than PyTorch, and on `full` its trajectory
    // meets one at step 7 (3e-8 against -6e-8 on the reference path's): from there on, only
    // the teacher-forced test below can compare it.
    if (kink) console.log(`  step 10 weights not compared: at step ${kink.step} a neuron is ${kink.active ? "active" : "inactive"} here, its pre-activation ${kink.pre.toExponential(1)} along the reference path`);
    else assertStepWeights(model, name, 10, 3e-5);
    losses.push(totalLoss(await path.evaluate(batch)));
    assertAllClose("losses_adamw", losses, fixtureF64(name, "losses_adamw.bin"), 1e-6);
  });

  if (hasLogits(name)) test(`${pathName} path, ${name}: weights.safetensors loads and reproduces the logits`, async () => {
    const model = new Model(await newEngine(), cfg);
    const checkpoint = readCheckpoint(fixtureBytes(name, "weights.safetensors"), `${name}/weights.safetensors`);
    assert.equal(checkpoint.kind, "foreign", "written by PyTorch: no grokwasm tag");
    assert.equal(checkpoint.config!.p, cfg.p);
    loadWeights(model, checkpoint, PARAM_NAMES, `${name}/weights.safetensors`);
    const path = makePath(model);
    const batch = path.newBatch(fixtureSplit(name, "train"), false);
    await path.evaluate(batch);
    assertCloseToMax("logits", model.logits(batch).subarray(0, cfg.logits_rows * cfg.d_vocab), fixtureF32(name, "train_logits.bin"), 1e-5);
  });
}

for (const name of FIXTURES) {
  test(`${name}: along 10 AdamW steps, the fast path's gradients equal the reference path's on the same weights`, async () => {
    const cfg = fixtureConfig(name);
    const model = await fixtureModel(name);
    const reference = PATHS.reference!(model), fast = PATHS.fast!(model);
    const split = fixtureSplit(name, "train");
    const rb = reference.newBatch(split, true), fb = fast.newBatch(split, true);
    const opt = { lr: cfg.hyperparameters.lr, beta1: cfg.hyperparameters.betas[0], beta2: cfg.hyperparameters.betas[1], eps: cfg.hyperparameters.eps, weight_decay: cfg.hyperparameters.weight_decay };
    let worst = 0;
    for (let t = 1; t <= 10; t++) {
      model.zeroGrad();
      await fast.lossAndGrad(fb);
      const fastGrads = PARAM_NAMES.map((p) => Float32Array.from(model.gradient(p)));
      model.zeroGrad();
      await reference.lossAndGrad(rb);
      PARAM_NAMES.forEach((p, i) => (worst = Math.max(worst, maxError(fastGrads[i]!, model.gradient(p)).rel)));
      model.adamwStep(opt, t);
    }
    console.log(`  worst gradient difference over 10 steps: ${worst.toExponential(2)} of the tensor's max`);
    assert.ok(worst <= 2e-5);
  });
}
