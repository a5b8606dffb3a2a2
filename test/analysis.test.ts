// The analysis measures on synthetic tensors whose answers are known: "clock" logits of
// addition built from chosen frequencies, and neurons tuned to chosen frequencies.

import { test } from "node:test";
import assert from "node:assert/strict";
import { excludedLoss, keyFrequencies, logitSpectrum, meanLoss, neuronClusters, restrictedLoss } from "../src/core/analysis.js";
import { fourierBasis } from "../src/core/fourier/basis.js";
import { Transform2d } from "../src/core/fourier/transform2d.js";
import { Model } from "../src/core/model/model.js";
import { newEngine } from "./helpers.js";

const p = 23;
const KEYS = [2, 7];

// logits[a, b, c] = 4 sum_{k in KEYS} cos(w_k (a + b - c)): Nanda et al.'s algorithm for addition.
function clockLogits(): { logits: Float32Array; labels: Int32Array; rows: number[] } {
  const logits = new Float32Array(p * p * p), labels = new Int32Array(p * p);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    labels[a * p + b] = (a + b) % p;
    for (let c = 0; c < p; c++) logits[(a * p + b) * p + c] = KEYS.reduce((s, k) => s + 4 * Math.cos((2 * Math.PI * k * (a + b - c)) / p), 0);
  }
  return { logits, labels, rows: Array.from({ length: p * p }, (_, i) => i) };
}

test("the 2-D transform is orthonormal: inverse(forward(x)) = x and energy is preserved", async () => {
  const engine = await newEngine();
  const t2d = new Transform2d(engine, fourierBasis(engine, p), p);
  const x = Float32Array.from({ length: p * p * 3 }, (_, i) => Math.sin(i * 0.37));
  const F = t2d.forward(x, 3);
  const back = t2d.inverse(F, 3);
  let err = 0, ex = 0, eF = 0;
  for (let i = 0; i < x.length; i++) { err = Math.max(err, Math.abs(back[i]! - x[i]!)); ex += x[i]! ** 2; eF += F[i]! ** 2; }
  assert.ok(err < 1e-5, `round trip error ${err}`);
  assert.ok(Math.abs(ex - eF) < 1e-4 * ex);
});

test("clock logits: their energy sits in exactly the key frequencies, which are found", async () => {
  const engine = await newEngine();
  const basis = fourierBasis(engine, p);
  const { logits } = clockLogits();
  const { energy, norms } = logitSpectrum(new Transform2d(engine, basis, p).forward(logits, p), basis, p);
  assert.deepEqual(keyFrequencies(energy), KEYS);
  const total = energy.reduce((s, e) => s + e, 0);
  assert.ok(KEYS.reduce((s, k) => s + energy[k - 1]!, 0) > 0.999999 * total);
  // cos(w(a+b-c)) lives on the (cos k, cos k), (sin k, sin k), (cos k, sin k), (sin k, cos k) terms only.
  assert.ok(norms[basis.labels.indexOf("cos 2")]![basis.labels.indexOf("cos 2")]! > 1);
  assert.ok(norms[0]![basis.labels.indexOf("cos 2")]! < 1e-3, "no (const, cos 2) term");
});

test("restricted loss keeps the clock's loss; excluding a key frequency raises it, others do not", async () => {
  const engine = await newEngine();
  const basis = fourierBasis(engine, p);
  const t2d = new Transform2d(engine, basis, p);
  const { logits, labels, rows } = clockLogits();
  const F = t2d.forward(logits, p);
  const full = meanLoss(logits, p, labels, rows);
  assert.ok(Math.abs(restrictedLoss(t2d, F, p, KEYS, labels, rows) - full) < 1e-4);
  assert.ok(restrictedLoss(t2d, F, p, [KEYS[0]!], labels, rows) > full + 0.5, "one key alone is worse");
  const excluded = excludedLoss(t2d, F, p, labels, rows);
  assert.equal(excluded.length, (p - 1) / 2);
  for (const { k, loss } of excluded) {
    if (KEYS.includes(k)) assert.ok(loss > full + 0.5, `removing key ${k}: ${loss} vs ${full}`);
    else assert.ok(Math.abs(loss - full) < 1e-4, `removing ${k} changes the loss: ${loss} vs ${full}`);
  }
});

test("neuron clusters: a neuron tuned to frequency k is assigned k with the variance it explains", async () => {
  const engine = await newEngine();
  const basis = fourierBasis(engine, p);
  const m = 4;
  const w = (k: number, t: number): number => (2 * Math.PI * k * t) / p;
  // neurons 0, 1: pure frequencies 3 and 9; neuron 2: frequency 5 plus a 4x weaker frequency 1; neuron 3: equal parts of 4 and 6.
  const act = (n: number, a: number, b: number): number => [
    Math.cos(w(3, a)) + Math.sin(w(3, b)) + 1,
    Math.cos(w(9, a) + 1) * Math.cos(w(9, b)),
    Math.cos(w(5, a + b)) + 0.25 * Math.cos(w(1, a)),
    Math.cos(w(4, a)) + Math.cos(w(6, b)),
  ][n]!;
  const x = new Float32Array(p * p * m);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) for (let n = 0; n < m; n++) x[(a * p + b) * m + n] = act(n, a, b);
  // Transformed in groups of 3 neurons: a group's transform is each neuron's own.
  const r = neuronClusters(new Transform2d(engine, basis, 3), x, m);
  assert.deepEqual(r.dominant_frequency.slice(0, 3), [3, 9, 5]);
  assert.ok(r.fraction_explained[0]! > 0.9999 && r.fraction_explained[1]! > 0.9999);
  // cos(w5 (a+b)) has variance 1/2, 0.25 cos(w1 a) has 1/32: 16/17 of the total.
  assert.ok(Math.abs(r.fraction_explained[2]! - 16 / 17) < 1e-4, `${r.fraction_explained[2]}`);
  assert.ok(Math.abs(r.fraction_explained[3]! - 0.5) < 1e-4);
  assert.deepEqual(r.clusters.map((c) => c.k), [...new Set(r.dominant_frequency)].sort((a, b) => a - b));
});

test("weight norms: per tensor and in total, on weights with a known norm", async () => {
  const model = new Model(await newEngine(), { d_vocab: 12, d_model: 8, n_heads: 2, d_head: 4, d_mlp: 16 });
  model.tensor("embed.W_E").fill(0.5); // 8 x 12 entries of 0.5: norm sqrt(96 * 0.25)
  model.tensor("unembed.W_U").fill(-2); // 96 entries of -2: norm sqrt(96 * 4)
  assert.ok(Math.abs(model.tensorNorm("embed.W_E") - Math.sqrt(24)) < 1e-12);
  assert.ok(Math.abs(model.tensorNorm("unembed.W_U") - Math.sqrt(384)) < 1e-12);
  assert.equal(model.tensorNorm("blocks.0.attn.W_Q"), 0);
  assert.ok(Math.abs(model.weightNorm() - Math.sqrt(24 + 384)) < 1e-12);
});
