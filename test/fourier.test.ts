// The Fourier lens: the SIMD DFT against fft.js (power-of-two lengths) and a naive float64
// DFT (primes), the orthonormal basis, and FFD/FCR on synthetic weights with known answers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Dft, fftRows, type Spectrum } from "../src/core/fourier/dft.js";
import { fourierBasis } from "../src/core/fourier/basis.js";
import { fcr, ffd, frequencyNorms } from "../src/core/fourier/measures.js";
import { MersenneTwister } from "../src/core/data/rng.js";
import { assertAllClose, newEngine } from "./helpers.js";

const rng = new MersenneTwister(99);
const gaussian = (n: number): Float64Array => Float64Array.from({ length: n }, () => {
  const u = (rng.nextU32() + 1) / 2 ** 32, v = rng.nextU32() / 2 ** 32;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
});

function naiveDft(x: ArrayLike<number>, rows: number, n: number): { cos: Float64Array; sin: Float64Array } {
  const kcount = Math.floor(n / 2) + 1;
  const cos = new Float64Array(kcount * rows), sin = new Float64Array(kcount * rows);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < kcount; k++) {
      let c = 0, s = 0;
      for (let t = 0; t < n; t++) {
        c += x[r * n + t]! * Math.cos((2 * Math.PI * k * t) / n);
        s += x[r * n + t]! * Math.sin((2 * Math.PI * k * t) / n);
      }
      cos[k * rows + r] = c;
      sin[k * rows + r] = s;
    }
  }
  return { cos, sin };
}

// rtol 1e-5 of the largest coefficient (float32 sums of n terms against float64).
const assertSpectrum = (label: string, got: Spectrum, want: { cos: ArrayLike<number>; sin: ArrayLike<number> }): void => {
  const scale = Math.max(...Array.from(want.cos, Math.abs), ...Array.from(want.sin, Math.abs));
  assertAllClose(`${label} cos`, got.cos, want.cos, 1e-5 * scale);
  assertAllClose(`${label} sin`, got.sin, want.sin, 1e-5 * scale);
};

test("the SIMD DFT matches a naive float64 DFT on prime lengths (97, 113, 7) and odd shapes", async () => {
  const engine = await newEngine();
  for (const [n, rows] of [[97, 128], [113, 5], [7, 3]] as const) {
    const x = gaussian(rows * n);
    assertSpectrum(`n=${n}`, new Dft(engine, n).ofArray(x, rows), naiveDft(x, rows, n));
  }
});

test("the SIMD DFT matches fft.js on power-of-two lengths", async () => {
  const engine = await newEngine();
  for (const [n, rows] of [[64, 10], [128, 3], [2, 4]] as const) {
    const x = gaussian(rows * n);
    assertSpectrum(`n=${n}`, new Dft(engine, n).ofArray(x, rows), fftRows(x, rows, n));
  }
});

test("row and column transforms of a matrix agree (strided rows, transposed layout)", async () => {
  const engine = await newEngine();
  const n = 11, m = 6, ld = 15;
  const dft = new Dft(engine, n);
  const rows = engine.alloc("f32", m * ld), cols = engine.alloc("f32", n * m);
  const x = gaussian(m * n);
  for (let r = 0; r < m; r++) for (let t = 0; t < n; t++) {
    rows.view()[r * ld + t] = x[r * n + t]!;
    cols.view()[t * m + r] = x[r * n + t]!;
  }
  const a = dft.ofRows(rows, m, ld), b = dft.ofCols(cols, m);
  assertAllClose("cos", a.cos, b.cos, 1e-5);
  assertAllClose("sin", a.sin, b.sin, 1e-5);
});

test("the Fourier basis is orthonormal and ordered const, cos 1, sin 1, ..., cos K, sin K", async () => {
  const p = 13;
  const { basis, labels, frequency } = fourierBasis(await newEngine(), p);
  assert.deepEqual(labels.slice(0, 5), ["const", "cos 1", "sin 1", "cos 2", "sin 2"]);
  assert.equal(labels.at(-1), "sin 6");
  assert.deepEqual(Array.from(frequency.slice(0, 5)), [0, 1, 1, 2, 2]);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) {
    let d = 0;
    for (let t = 0; t < p; t++) d += basis[i * p + t]! * basis[j * p + t]!;
    assert.ok(Math.abs(d - (i === j ? 1 : 0)) < 1e-6, `<b${i}, b${j}> = ${d}`);
  }
  assert.ok(Math.abs(basis[1 * p + 1]! - Math.sqrt(2 / p) * Math.cos((2 * Math.PI) / p)) < 1e-7);
});

// Synthetic "embeddings": m vectors indexed by t = 0..p-1, made of chosen frequencies.
async function measuresOf(p: number, m: number, value: (j: number, t: number) => number) {
  const x = new Float64Array(m * p);
  for (let j = 0; j < m; j++) for (let t = 0; t < p; t++) x[j * p + t] = value(j, t);
  const norms = frequencyNorms(new Dft(await newEngine(), p).ofArray(x, m));
  return { norms, ffd: ffd(norms), fcr: fcr(norms) };
}

test("one pure frequency: FFD = 1/K, its minimum, and the spectrum peaks there", async () => {
  const p = 97, K = 48, w = (2 * Math.PI * 5) / p;
  const r = await measuresOf(p, 8, (j, t) => (j + 1) * Math.cos(w * t + j));
  assert.equal(r.ffd, 2 / (2 * K), "cos 5 and sin 5, nothing else above eta");
  assert.equal(r.norms.mu.indexOf(Math.max(...r.norms.mu)) + 1, 5);
  assert.equal(r.norms.nu.indexOf(Math.max(...r.norms.nu)) + 1, 5);
});

test("cos and sin of equal norm at every frequency: FCR = 1, FFD = 1; cos only: FCR = 0", async () => {
  const p = 31, K = 15;
  const wave = (f: (x: number) => number) => (t: number) => Array.from({ length: K }, (_, i) => f((2 * Math.PI * (i + 1) * t) / p)).reduce((a, b) => a + b, 0);
  const allCos = wave(Math.cos), allSin = wave(Math.sin);
  const balanced = await measuresOf(p, 2, (j, t) => (j === 0 ? allCos(t) : allSin(t)));
  assert.ok(Math.abs(balanced.fcr - 1) < 1e-5, `FCR ${balanced.fcr}`);
  assert.equal(balanced.ffd, 1);
  const cosOnly = await measuresOf(p, 3, (j, t) => (j + 1) * allCos(t));
  assert.ok(cosOnly.fcr < 1e-5, `FCR ${cosOnly.fcr}`);
});

test("a few key frequencies over a weak background: FFD counts exactly them", async () => {
  const p = 97, K = 48, keys = [3, 17, 40];
  const r = await measuresOf(p, 6, (j, t) => {
    let x = 0;
    for (let k = 1; k <= K; k++) x += (keys.includes(k) ? 1 : 0.02) * Math.cos((2 * Math.PI * k * t) / p + j + k);
    return x;
  });
  assert.equal(r.ffd, (2 * keys.length) / (2 * K));
});

test("random Gaussian weights: many frequencies (high FFD) with mostly balanced cos/sin (high FCR)", async () => {
  const p = 97;
  const x = gaussian(128 * p);
  const r = await measuresOf(p, 128, (j, t) => x[j * p + t]!);
  assert.ok(r.ffd > 0.8, `FFD ${r.ffd}`);
  assert.ok(r.fcr > 0.75 && r.fcr < 1, `FCR ${r.fcr}`);
});
