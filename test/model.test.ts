// The hand-written backward on shapes the fixtures do not cover (odd sizes, so every edge
// tile of the kernels runs), against central finite differences of the float64 loss.

import { test } from "node:test";
import assert from "node:assert/strict";
import { buildDataset } from "../src/core/data/data.js";
import { Vocab } from "../src/core/data/vocab.js";
import { initParams } from "../src/core/model/init.js";
import { Model, totalLoss } from "../src/core/model/model.js";
import { resolveTask } from "../src/core/data/tasks.js";
import { referenceLossAndGrad } from "../src/reference/model.js";
import { assertCloseToMax, newEngine, PATHS } from "./helpers.js";

for (const [pathName, makePath] of Object.entries(PATHS)) {

test(`${pathName} path: gradients of a model with odd sizes match finite differences of the loss`, async () => {
  const p = 7;
  const dims = { d_vocab: new Vocab(p).size, d_model: 13, n_heads: 3, d_head: 5, d_mlp: 21 };
  const model = new Model(await newEngine(), dims);
  initParams(model, 3);
  // Larger weights than the init, so every path (attention included) carries gradient.
  for (const e of model.layout.entries) model.tensor(e.name).forEach((v, i, a) => (a[i] = v * 3));
  const path = makePath(model);
  const batch = path.newBatch(buildDataset([resolveTask("a2+ab+b2")], new Vocab(p), 0.6, 1).train, true);
  model.zeroGrad();
  await path.lossAndGrad(batch);
  const h = 1e-3;
  for (const e of model.layout.entries) {
    const w = model.tensor(e.name);
    const g = Float32Array.from(model.gradient(e.name));
    const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < g.length; i++) {
      const w0 = w[i]!;
      w[i] = w0 + h;
      const up = totalLoss(await path.evaluate(batch));
      w[i] = w0 - h;
      const down = totalLoss(await path.evaluate(batch));
      w[i] = w0;
      worst = Math.max(worst, Math.abs((up - down) / (2 * h) - g[i]!));
    }
    console.log(`  ${e.name.padEnd(20)} max |g| ${scale.toExponential(2)}  worst |fd - g| ${worst.toExponential(2)}`);
    assert.ok(scale > 0, `${e.name} gets no gradient`);
    assert.ok(worst <= 5e-3 * scale, `${e.name}: finite differences differ by ${worst} (max |g| ${scale})`);
  }
});

test(`${pathName} path: embedding columns of unused tokens get exactly zero gradient`, async () => {
  const p = 11;
  const model = new Model(await newEngine(), { d_vocab: new Vocab(p).size, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 32 });
  initParams(model, 0);
  const path = makePath(model);
  const batch = path.newBatch(buildDataset([resolveTask("add")], new Vocab(p), 0.5, 0).train, true);
  model.zeroGrad();
  await path.lossAndGrad(batch);
  const g = model.gradient("embed.W_E");
  for (const unused of [p, p + 2, p + 3, p + 4]) {
    for (let d = 0; d < 16; d++) assert.equal(g[d * new Vocab(p).size + unused], 0);
  }
  assert.notEqual(g[p + 1], 0, "the '+' token is used");
});

// 3 heads: fewer than one group of the fast path's four; 5: a group of four and one more.
for (const n_heads of [3, 5]) test(`${pathName} path: logits, loss and every gradient match the plain-TS float64 reference model on odd sizes, ${n_heads} heads`, async () => {
  const p = 5;
  const dims = { d_vocab: new Vocab(p).size, d_model: 11, n_heads, d_head: 7, d_mlp: 19 };
  const model = new Model(await newEngine(), dims);
  initParams(model, 9);
  const split = buildDataset([resolveTask("a3+ab")], new Vocab(p), 0.8, 2).train;
  const path = makePath(model);
  const batch = path.newBatch(split, true);
  model.zeroGrad();
  const loss = totalLoss(await path.lossAndGrad(batch));
  // (in the batch's own order of examples, so the logits compare row by row)
  const ref = referenceLossAndGrad((name) => model.tensor(name), dims, batch.examples);
  assert.ok(Math.abs(loss - ref.loss) < 1e-6, `loss ${loss} vs ${ref.loss}`);
  assertCloseToMax("logits", model.logits(batch), ref.logits, 1e-5);
  for (const e of model.layout.entries) assertCloseToMax(`d ${e.name}`, model.gradient(e.name), ref.grads[e.name], 1e-5);
});

}
