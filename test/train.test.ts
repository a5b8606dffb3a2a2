// The training loop: a run is a pure function of its config and seed, and it stops where
// it should.

import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../src/core/config.js";
import { formatMetrics, runTraining, Trainer, TrainingError } from "../src/core/train.js";
import { Run } from "../src/core/run.js";
import { newEngine } from "./helpers.js";

const SMALL = { p: "11", frac: "0.5", d_model: "16", n_heads: "2", d_head: "8", d_mlp: "32", steps: "60", eval_every: "20" };

async function runLog(overrides: Record<string, string | boolean>): Promise<{ log: string; weights: Uint8Array }> {
  const clock = (): number => 0; // wall_s is the only field that is not a function of the config
  const trainer = new Trainer(Run.assemble(await newEngine(), resolveConfig(overrides)), clock);
  let log = "";
  await runTraining(trainer, { onEval: (m) => (log += formatMetrics(m)) });
  return { log, weights: new Uint8Array(trainer.run.model.buffer("params").read().buffer) };
}

test("two runs with one seed give byte-identical metrics and weights; another seed does not", async () => {
  const a = await runLog(SMALL);
  const b = await runLog(SMALL);
  assert.equal(a.log, b.log);
  assert.deepEqual(a.weights, b.weights);
  const c = await runLog({ ...SMALL, seed: "1" });
  assert.notEqual(c.log, a.log);
});

test("metrics come at step 0, every eval_every steps and at the end, with the documented keys", async () => {
  const { log } = await runLog({ ...SMALL, steps: "50" });
  const lines = log.trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(lines.map((m) => m.step), [0, 20, 40, 50]);
  assert.deepEqual(Object.keys(lines[0]!), ["step", "train_loss", "test_loss", "train_acc", "test_acc", "ffd_E", "fcr_E", "ffd_L", "fcr_L", "weight_norm", "wall_s"]);
  assert.ok(lines[3]!.train_loss! < lines[0]!.train_loss!, "training lowers the train loss");
});

test("until_grokked stops a little after grokking; the summary records both events", async () => {
  const cfg = resolveConfig({ p: "23", frac: "0.6", d_model: "64", d_head: "16", d_mlp: "256", lr: "3e-3", steps: "5000", until_grokked: true });
  const trainer = new Trainer(Run.assemble(await newEngine(), cfg));
  const summary = await runTraining(trainer);
  assert.equal(summary.stopped, "grokked");
  assert.ok(summary.memorized_step !== null && summary.grokked_step !== null);
  assert.ok(summary.memorized_step <= summary.grokked_step);
  assert.ok(summary.final.test_acc >= 0.99);
  assert.ok(summary.steps >= summary.grokked_step + 100 && summary.steps <= summary.grokked_step * 1.1 + 100);
  console.log(`  p=23 grokked at step ${summary.grokked_step}, stopped at ${summary.steps}, ${summary.ms_per_step.toFixed(2)} ms/step`);
});

test("a diverging run stops with a message naming the step, the likely cause and the fix", async () => {
  const trainer = new Trainer(Run.assemble(await newEngine(), resolveConfig({ ...SMALL, lr: "1e30" })));
  await assert.rejects(runTraining(trainer), (e: Error) => e instanceof TrainingError && /at step \d+: training diverged; lower --lr \(now 1e\+30\)/.test(e.message));
  const cases: [Record<string, string>, RegExp][] = [
    [{ weight_decay: "1e308" }, /--lr 0.001 times --weight-decay 1e\+308 is 1e\+305, at least 1: each step flips or zeroes the weights; lower --weight-decay/],
    [{ eps: "5e-324" }, /--eps 5e-324 rounds to 0 in float32, so a zero gradient's update is 0\/0; use about 1e-8/],
  ];
  for (const [overrides, message] of cases) {
    const t = new Trainer(Run.assemble(await newEngine(), resolveConfig({ ...SMALL, ...overrides })));
    await assert.rejects(runTraining(t), (e: Error) => e instanceof TrainingError && message.test(e.message), JSON.stringify(overrides));
  }
});
