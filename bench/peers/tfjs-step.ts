// The paper's training step in TensorFlow.js, a peer for `npm run bench:peers`: the same
// model as bench/peers/torch_step.py (all 3 positions, as the paper's code computes them),
// full-batch AdamW written out (tfjs has none), on the "cpu" (plain JS) or "wasm" backend.
// tfjs has no float64, so its loss is float32: a speed peer, not a numerics one.
// Usage: node dist/bench/peers/tfjs-step.js BACKEND STEPS -> one JSON line

import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { DEFAULTS } from "../../src/core/config.js";
import { buildDataset } from "../../src/core/data/data.js";
import { resolveTask } from "../../src/core/data/tasks.js";
import { Vocab } from "../../src/core/data/vocab.js";

const [backend = "cpu", stepsArg = "5"] = process.argv.slice(2);
const { p, d_model: dm, n_heads: H, d_head: dh, d_mlp: dmlp, lr, weight_decay: wd, beta1, beta2, eps } = DEFAULTS;
const dv = new Vocab(p).size, hd = H * dh;

if (backend === "wasm") setWasmPaths(dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm")) + "/");
await tf.setBackend(backend);

const { train } = buildDataset([resolveTask("add")], new Vocab(p), DEFAULTS.frac, 0);
const N = train.n;
// The embedding lookup as a one-hot product: its gradient exists on every backend (the wasm
// backend has no UnsortedSegmentSum, the gradient of gather).
const tokens = tf.oneHot(tf.tensor1d(train.tokens, "int32"), dv).toFloat();
const labels = tf.oneHot(tf.tensor1d(train.labels, "int32"), dv);
const mask = tf.tensor2d([[0, -1e10, -1e10], [0, 0, -1e10], [0, 0, 0]]);
const w = (shape: number[], scale: number): tf.Variable => tf.variable(tf.randomNormal(shape, 0, scale));
const W = {
  E: w([dm, dv], 1 / Math.sqrt(dv)), K: w([hd, dm], 1 / Math.sqrt(dm)), Q: w([hd, dm], 1 / Math.sqrt(dm)), V: w([hd, dm], 1 / Math.sqrt(dm)),
  O: w([dm, hd], 1 / Math.sqrt(dm)), in: w([dmlp, dm], 1 / Math.sqrt(dm)), out: w([dm, dmlp], 1 / Math.sqrt(dm)), U: w([dm, dv], 1 / Math.sqrt(dm)),
};
const moments = Object.values(W).map((v) => [tf.variable(tf.zerosLike(v)), tf.variable(tf.zerosLike(v))] as const);

function loss(): tf.Scalar {
  const x = tf.matMul(tokens, W.E, false, true); // [3N, dm]
  const heads = (M: tf.Tensor): tf.Tensor => tf.matMul(x, M, false, true).reshape([N, 3, H, dh]).transpose([0, 2, 1, 3]);
  const q = heads(W.Q), k = heads(W.K), v = heads(W.V);
  const attn = tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh)), mask));
  const z = tf.matMul(attn, v).transpose([0, 2, 1, 3]).reshape([3 * N, hd]);
  const mid = tf.add(x, tf.matMul(z, W.O, false, true));
  const post = tf.add(mid, tf.matMul(tf.relu(tf.matMul(mid, W.in, false, true)), W.out, false, true));
  const logits = tf.matMul(post, W.U).reshape([N, 3, dv]).slice([0, 2, 0], [N, 1, dv]).reshape([N, dv]);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

let t = 0;
function step(): void {
  t++;
  tf.tidy(() => {
    const { grads } = tf.variableGrads(loss);
    Object.values(W).forEach((v, i) => {
      const g = grads[v.name]!, [m, s] = moments[i]!;
      m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
      s.assign(tf.add(tf.mul(s, beta2), tf.mul(tf.square(g), 1 - beta2)));
      const update = tf.div(tf.div(m, 1 - beta1 ** t), tf.add(tf.sqrt(tf.div(s, 1 - beta2 ** t)), eps));
      v.assign(tf.sub(tf.mul(v, 1 - lr * wd), tf.mul(update, lr)));
    });
  });
}

step();
const times: number[] = [];
for (let i = 0; i < Number(stepsArg); i++) {
  const t0 = performance.now();
  step();
  await tf.ready();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ peer: `tfjs-${backend}`, tfjs: tf.version.tfjs, ms_per_step: times[Math.floor(times.length / 2)] }));
