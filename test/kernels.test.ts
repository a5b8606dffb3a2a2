// Every WebAssembly kernel against its plain TypeScript reference (src/reference), on
// shapes that exercise the SIMD bodies and the edge tiles (sizes not multiples of 4 or 8).

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { adamwRef, crossEntropyRef, gemmRef } from "../src/reference/kernels.js";
import type { Engine } from "../src/core/wasm/engine.js";
import type { Region } from "../src/core/wasm/region.js";
import { MersenneTwister } from "../src/core/data/rng.js";
import { assertAllClose, newEngine } from "./helpers.js";

const rng = new MersenneTwister(1234);
const uniform = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => scale * (rng.nextU32() / 2 ** 31 - 1));

function put(engine: Engine, data: Float32Array): Region<"f32"> {
  const r = engine.alloc("f32", data.length);
  r.write(data);
  return r;
}

const SHAPES: [number, number, number][] = [[1, 1, 1], [4, 8, 1], [5, 9, 3], [7, 13, 17], [16, 102, 128], [33, 97, 300], [64, 40, 517]];

for (const [layout, transA, transB] of [["nn", false, false], ["tn", true, false], ["nt", false, true]] as const) {
  test(`gemm_${layout} matches the reference on edge and blocked shapes, overwrite and accumulate`, async () => {
    const engine = await newEngine();
    const fn = engine.k[`gemm_${layout}`];
    for (const [m, n, k] of SHAPES) {
      const a = uniform(m * k), b = uniform(k * n), c0 = uniform(m * n);
      const pa = put(engine, a), pb = put(engine, b);
      const lda = transA ? m : k, ldb = transB ? k : n;
      for (const accumulate of [false, true]) {
        const pc = put(engine, c0);
        fn(m, n, k, pa.ptr, lda, pb.ptr, ldb, pc.ptr, n, accumulate);
        const want = Float32Array.from(c0);
        gemmRef(m, n, k, a, transA, b, transB, want, accumulate);
        assertAllClose(`${layout} ${m}x${n}x${k}${accumulate ? " +=" : ""}`, pc.view(), want, 1e-5 * Math.sqrt(k), 1e-5);
      }
    }
  });
}

test("gemm_nn_panels over pack_panels (of B and of Bᵀ) gives exactly gemm_nn's result", async () => {
  const engine = await newEngine();
  for (const [m, n, k] of SHAPES) {
    const a = uniform(m * k), b = uniform(k * n), c0 = uniform(m * n);
    const pa = put(engine, a), pb = put(engine, b);
    const bt = Float32Array.from({ length: n * k }, (_, i) => b[(i % k) * n + Math.floor(i / k)]!); // Bᵀ [n, k]
    const pbt = put(engine, bt);
    const size = engine.k.panels_size(k, n, 8);
    const panels = engine.alloc("f32", size), panelsT = engine.alloc("f32", size);
    engine.k.pack_panels(panels.ptr, pb.ptr, k, n, n, 1, k, 8);
    engine.k.pack_panels(panelsT.ptr, pbt.ptr, k, n, 1, k, k, 8);
    assert.deepEqual(panelsT.view(), panels.view(), "packing B or its transpose gives the same panels");
    for (const accumulate of [false, true]) {
      const want = put(engine, c0), got = put(engine, c0);
      engine.k.gemm_nn(m, n, k, pa.ptr, k, pb.ptr, n, want.ptr, n, accumulate);
      engine.k.gemm_nn_panels(m, n, k, pa.ptr, k, panels.ptr, got.ptr, n, accumulate);
      assert.deepEqual(got.view(), want.view(), `${m}x${n}x${k}${accumulate ? " +=" : ""}`);
    }
  }
});

test("gemm_nn_panels_gated gives exactly gemm_nn_panels then relu_backward (the ReLU's backward done as C is stored)", async () => {
  const engine = await newEngine();
  for (const [m, n, k] of SHAPES) {
    const a = uniform(m * k), b = uniform(k * n);
    // the gate: ReLU outputs, so zeros (both signs) beside positives; and a NaN
    const gate = Float32Array.from(uniform(m * n), (x, i) => (i % 7 === 0 ? -0 : i % 11 === 5 ? NaN : Math.max(x, 0)));
    const pa = put(engine, a), pb = put(engine, b), pg = put(engine, gate);
    const panels = engine.alloc("f32", engine.k.panels_size(k, n, 8));
    engine.k.pack_panels(panels.ptr, pb.ptr, k, n, n, 1, k, 8);
    const want = put(engine, uniform(m * n)), got = put(engine, uniform(m * n));
    engine.k.gemm_nn_panels(m, n, k, pa.ptr, k, panels.ptr, want.ptr, n, false);
    engine.k.relu_backward(want.ptr, want.ptr, pg.ptr, m * n);
    engine.k.gemm_nn_panels_gated(m, n, k, pa.ptr, k, panels.ptr, got.ptr, n, pg.ptr);
    assert.deepEqual(got.view(), want.view(), `${m}x${n}x${k}`); // strict: -0 and +0 differ
  }
});

test("gemm_tn_packing (A packed block by block into scratch), and gemm_nn_panels on A transposed, give exactly gemm_tn's result", async () => {
  const engine = await newEngine();
  // K up to 600: A is packed in more than one block of 256
  for (const [m, n, k] of [...SHAPES, [13, 20, 600]] as [number, number, number][]) {
    const lda = m + 3; // Aᵀ a slice of a wider matrix
    const at = uniform(k * lda), b = uniform(k * n), c0 = uniform(m * n);
    const a = Float32Array.from({ length: m * k }, (_, i) => at[(i % k) * lda + Math.floor(i / k)]!); // A itself, [M, K]
    const pat = put(engine, at), pa = put(engine, a), pb = put(engine, b);
    const bp = engine.alloc("f32", engine.k.panels_size(k, n, 8));
    engine.k.pack_panels(bp.ptr, pb.ptr, k, n, n, 1, k, 8);
    const scratch = engine.alloc("f32", engine.k.pack_scratch_floats(m));
    for (const accumulate of [false, true]) {
      const want = put(engine, c0), packing = put(engine, c0), transposed = put(engine, c0);
      engine.k.gemm_tn(m, n, k, pat.ptr, lda, pb.ptr, n, want.ptr, n, accumulate);
      engine.k.gemm_tn_packing(m, n, k, pat.ptr, lda, pb.ptr, n, packing.ptr, n, accumulate, scratch.ptr);
      engine.k.gemm_nn_panels(m, n, k, pa.ptr, k, bp.ptr, transposed.ptr, n, accumulate);
      assert.deepEqual(packing.view(), want.view(), `packing ${m}x${n}x${k}${accumulate ? " +=" : ""}`);
      assert.deepEqual(transposed.view(), want.view(), `transposed ${m}x${n}x${k}${accumulate ? " +=" : ""}`);
    }
  }
});

test("pack_panels packs a [K, N] matrix (row-major or transposed) into zero-padded panels of 4 or 8 columns", async () => {
  const engine = await newEngine();
  const [k, n, stride] = [5, 11, 7];
  const b = Float32Array.from({ length: k * n }, (_, i) => i + 1);
  const bt = Float32Array.from({ length: n * k }, (_, i) => b[(i % k) * n + Math.floor(i / k)]!);
  const pb = put(engine, b), pbt = put(engine, bt);
  for (const width of [4, 8]) {
    const size = engine.k.panels_size(stride, n, width);
    assert.equal(size, Math.ceil(n / width) * stride * width);
    const got = engine.alloc("f32", size), gotT = engine.alloc("f32", size);
    engine.k.pack_panels(got.ptr, pb.ptr, k, n, n, 1, stride, width);
    engine.k.pack_panels(gotT.ptr, pbt.ptr, k, n, 1, k, stride, width);
    const want = new Float32Array(size);
    for (let p = 0; p < Math.ceil(n / width); p++) {
      for (let kk = 0; kk < k; kk++) for (let c = 0; c < width; c++) if (p * width + c < n) want[(p * stride + kk) * width + c] = b[kk * n + p * width + c]!;
    }
    assert.deepEqual(got.view(), want, `width ${width}`);
    assert.deepEqual(gotT.view(), want, `width ${width}, from the transpose`);
  }
});

test("simd_peak (the benchmarks' calibration) runs the GEMM tile: C += A B over its 256-long block per iteration", async () => {
  const engine = await newEngine();
  const buffer = engine.alloc("f32", 256 * 12 + 32);
  buffer.at(0, 256 * 12).fill(0.5); // A [256][4], B [256][8]: every product is 0.25
  assert.equal(engine.k.simd_peak(3, buffer.ptr), 3 * 256 * 0.25);
});

test("gemm honours leading dimensions (strided sub-matrices)", async () => {
  const engine = await newEngine();
  const [m, n, k, lda, ldb, ldc] = [6, 10, 7, 12, 15, 11];
  const a = uniform(m * lda), b = uniform(k * ldb), c = new Float32Array(m * ldc).fill(7);
  const pa = put(engine, a), pb = put(engine, b), pc = put(engine, c);
  engine.k.gemm_nn(m, n, k, pa.ptr, lda, pb.ptr, ldb, pc.ptr, ldc, false);
  const out = pc.view();
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < ldc; j++) {
      if (j >= n) { assert.equal(out[i * ldc + j], 7, "outside the sub-matrix is untouched"); continue; }
      let s = 0;
      for (let kk = 0; kk < k; kk++) s += a[i * lda + kk]! * b[kk * ldb + j]!;
      assert.ok(Math.abs(out[i * ldc + j]! - s) < 1e-5);
    }
  }
});

test("relu forward and backward match max(x, 0) and its gradient (0 at 0)", async () => {
  const engine = await newEngine();
  const x = uniform(103);
  x[5] = 0;
  const dout = uniform(103);
  const px = put(engine, x), pd = put(engine, dout), po = engine.alloc("f32", 103), pg = engine.alloc("f32", 103);
  engine.k.relu_forward(po.ptr, px.ptr, 103);
  engine.k.relu_backward(pg.ptr, pd.ptr, px.ptr, 103);
  assert.deepEqual([...po.view()], [...x].map((v) => Math.max(v, 0)));
  assert.deepEqual([...pg.view()], [...x].map((v, i) => (v > 0 ? dout[i]! : 0)));
});

test("exp_rows (the softmax's SIMD exp) is within 2 ulp of Math.exp, 0 where e^x is subnormal", async () => {
  const engine = await newEngine();
  const x = Float32Array.from({ length: 4003 }, (_, i) => -90 + (178 * i) / 4002);
  x[7] = 0;
  const px = put(engine, x), pe = engine.alloc("f32", x.length);
  engine.k.exp_rows(pe.ptr, px.ptr, x.length);
  const e = pe.view();
  for (let i = 0; i < x.length; i++) {
    const want = Math.exp(x[i]!);
    if (x[i]! < -87.34) assert.equal(e[i], 0, `e^${x[i]}`);
    else assert.ok(Math.abs(e[i]! - want) <= 2 * 2 ** -23 * want, `e^${x[i]} = ${e[i]}, want ${want}`);
  }
  assert.equal(e[7], 1, "e^0 is exactly 1");
});

test("mathf_exp_rows (the attention softmax's exp, four lanes at a time) gives Mathf.exp's floats, its special cases included", async () => {
  const engine = await newEngine();
  // Wide and narrow ranges, the edges of the special paths (|x| >= 88, underflow near -104,
  // overflow above 88.7), infinities, NaN and signed zeros.
  const special = [0, -0, 88, -88, -87.99, 88.7, 88.8, -103.9, -104, -150, Infinity, -Infinity, NaN, 1e-30, -1e-30, 0.5];
  const x = Float32Array.from({ length: 40_000 }, (_, i) => (i < special.length ? special[i]! : Math.sin(i) * (i % 7 === 0 ? 100 : 20)));
  const px = put(engine, x), lanes = engine.alloc("f32", x.length), one = engine.alloc("f32", 1);
  engine.k.mathf_exp_rows(lanes.ptr, px.ptr, x.length);
  for (let i = 0; i < x.length; i++) {
    engine.k.mathf_exp_rows(one.ptr, px.ptr + 4 * i, 1); // a single float: Mathf.exp itself
    assert.ok(Object.is(lanes.view()[i], one.view()[0]), `e^${x[i]}: ${lanes.view()[i]} on four lanes, ${one.view()[0]} from Mathf.exp`);
  }
});

test("cross_entropy gives the float64 mean loss and (softmax - onehot)/rows, also on confident logits", async () => {
  const engine = await newEngine();
  const rows = 37, n = 102;
  const logits = uniform(rows * n, 8);
  logits[3 * n + 4] = 80; // a confident row, where float32 log-softmax would lose the loss
  const labels = Int32Array.from({ length: rows }, (_, r) => (r * 31) % n);
  labels[3] = 4;
  const pl = put(engine, logits), pd = engine.alloc("f32", rows * n);
  const plab = engine.alloc("i32", rows);
  plab.write(labels);
  const loss = engine.k.cross_entropy(pl.ptr, plab.ptr, rows, n, pd.ptr, rows) / rows;
  const ref = crossEntropyRef(logits, labels, rows, n);
  assert.ok(Math.abs(loss - ref.loss) < 1e-6 * Math.max(1, ref.loss), `loss ${loss} vs ${ref.loss}`);
  assertAllClose("dlogits", pd.view(), ref.dlogits, 1e-9, 1e-6);
  assert.equal(engine.k.cross_entropy(pl.ptr, plab.ptr, rows, n, 0, rows) / rows, loss, "without gradients, the same loss");
  // The confident row alone: its loss (~1e-7) and its label's gradient keep their digits.
  const one = uniform(n, 1);
  one[4] = 20;
  const p1 = put(engine, one), pd1 = engine.alloc("f32", n);
  const loss1 = engine.k.cross_entropy(p1.ptr, plab.at(3).ptr, 1, n, pd1.ptr, 1);
  const ref1 = crossEntropyRef(one, [4], 1, n);
  assert.ok(ref1.loss > 1e-8 && Math.abs(loss1 - ref1.loss) < 1e-6 * ref1.loss, `confident loss ${loss1} vs ${ref1.loss}`);
  assert.ok(Math.abs(pd1.view()[4]! - ref1.dlogits[4]!) < 1e-6 * Math.abs(ref1.dlogits[4]!), "label gradient");
  // Probabilities below 2^-100 are written as 0 (never as subnormal floats); larger ones are kept.
  const far = new Float32Array(n).fill(-60);
  far[0] = 0;
  far[1] = -80;
  const pf = put(engine, far), pdf = engine.alloc("f32", n);
  engine.k.cross_entropy(pf.ptr, plab.at(3).ptr, 1, n, pdf.ptr, 1);
  assert.equal(pdf.view()[1], 0, "e^-80 is below 2^-100: written as 0");
  assert.ok(Math.abs(pdf.view()[2]! / Math.exp(-60) - 1) < 1e-5, "e^-60 is kept");
});

test("cross_entropies writes each row's loss, which added in order is cross_entropy's sum, and the same gradient, byte for byte", async () => {
  const engine = await newEngine();
  const rows = 29, n = 102;
  const logits = uniform(rows * n, 8);
  logits[5 * n + 7] = 60;
  const labels = Int32Array.from({ length: rows }, (_, r) => (r * 17) % n);
  const pl = put(engine, logits), plab = engine.alloc("i32", rows);
  plab.write(labels);
  const [summed, each] = [engine.alloc("f32", rows * n), engine.alloc("f32", rows * n)];
  const losses = engine.alloc("f64", rows);
  const total = engine.k.cross_entropy(pl.ptr, plab.ptr, rows, n, summed.ptr, 2822);
  engine.k.cross_entropies(pl.ptr, plab.ptr, rows, n, each.ptr, 2822, losses.ptr);
  assert.equal(losses.view().reduce((s, x) => s + x, 0), total);
  losses.view().forEach((x, r) => assert.equal(x, engine.k.cross_entropy(pl.at(r * n).ptr, plab.at(r).ptr, 1, n, 0, 1), `row ${r}`));
  assert.deepEqual(each.view(), summed.view(), "the gradient");
});

test("count_correct takes the first maximum on ties, like torch.argmax", async () => {
  const engine = await newEngine();
  const logits = new Float32Array([1, 3, 3, 0, /**/ 5, 1, 1, 5, /**/ 0, 0, 0, 1]);
  const pl = put(engine, logits), plab = engine.alloc("i32", 3);
  plab.write([1, 0, 2]);
  assert.equal(engine.k.count_correct(pl.ptr, plab.ptr, 3, 4), 2);
});

test("count_correct agrees with a plain first-maximum loop on rows of any length, with ties, signed zeros and NaNs", async () => {
  const engine = await newEngine();
  // the loop count_correct replaced: strictly larger moves the best (a NaN never does)
  const argmax = (row: Float32Array): number => row.reduce((best, x, j) => (x > row[best]! ? j : best), 0);
  const values = [-1, -0, 0, 0.5, 2, 2, NaN, -Infinity, Infinity];
  fc.assert(fc.property(fc.integer({ min: 1, max: 19 }), fc.array(fc.integer({ min: 0, max: values.length - 1 }), { minLength: 19 * 6, maxLength: 19 * 6 }), (n, picks) => {
    const rows = 6, logits = Float32Array.from({ length: rows * n }, (_, i) => values[picks[i]!]!);
    const pl = put(engine, logits), plab = engine.alloc("i32", 1);
    for (let r = 0; r < rows; r++) {
      const row = logits.subarray(r * n, (r + 1) * n), best = argmax(row);
      for (const label of [best, (best + 1) % n]) {
        plab.write([label]);
        assert.equal(engine.k.count_correct(pl.at(r * n).ptr, plab.ptr, 1, n), label === best ? 1 : 0, `row ${[...row]} label ${label}`);
      }
    }
  }), { seed: 7, numRuns: 200 });
});

test("adamw_step matches torch.optim.AdamW over 20 steps, including tails and weight decay", async () => {
  const engine = await newEngine();
  const n = 103;
  const opt = { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weight_decay: 1.0 };
  const w0 = uniform(n);
  const pw = put(engine, w0), pg = engine.alloc("f32", n), pm = engine.alloc("f32", n), pv = engine.alloc("f32", n);
  const w = Float64Array.from(w0), m = new Float64Array(n), v = new Float64Array(n);
  for (let t = 1; t <= 20; t++) {
    const g = uniform(n, 0.01);
    pg.view().set(g);
    engine.k.adamw_step(pw.ptr, pg.ptr, pm.ptr, pv.ptr, n, opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay, t);
    adamwRef(w, g, m, v, opt, t);
  }
  assertAllClose("weights after 20 steps", pw.view(), w, 1e-6, 1e-5);
});

test("adamw_step_at, reading t and the settings from memory, gives adamw_step's floats byte for byte, over a tensor cut into two calls", async () => {
  const engine = await newEngine();
  const n = 103;
  const opt = { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weight_decay: 1.0 };
  const [a, b] = [0, 1].map(() => ({ w: put(engine, uniform(n)), g: engine.alloc("f32", n), m: engine.alloc("f32", n), v: engine.alloc("f32", n) }));
  b!.w.write(a!.w.view());
  const hyper = engine.alloc("f64", 6);
  for (let t = 1; t <= 5; t++) {
    const g = uniform(n, 0.01);
    a!.g.write(g);
    b!.g.write(g);
    engine.k.adamw_step(a!.w.ptr, a!.g.ptr, a!.m.ptr, a!.v.ptr, n, opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay, t);
    hyper.write([opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay, t]);
    // in two calls, the first of 40 floats: the split changes no float
    engine.k.adamw_step_at(b!.w.ptr, b!.g.ptr, b!.m.ptr, b!.v.ptr, 40, hyper.ptr);
    engine.k.adamw_step_at(b!.w.at(40).ptr, b!.g.at(40).ptr, b!.m.at(40).ptr, b!.v.at(40).ptr, n - 40, hyper.ptr);
  }
  for (const x of ["w", "m", "v"] as const) assert.deepEqual(b![x].view(), a![x].view(), x);
});

test("fill_normal draws N(0, std^2) deterministically from the given bits", async () => {
  const engine = await newEngine();
  const n = 20001;
  const bits = engine.alloc("u32", n + 1);
  new MersenneTwister(7).fill(bits.view());
  const out = engine.alloc("f32", n), again = engine.alloc("f32", n);
  engine.k.fill_normal(out.ptr, bits.ptr, n, 0.5);
  engine.k.fill_normal(again.ptr, bits.ptr, n, 0.5);
  const x = out.view();
  assert.deepEqual(x, again.view());
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(sd - 0.5) < 0.01, `mean ${mean}, sd ${sd}`);
  const within1sd = x.filter((v) => Math.abs(v) < 0.5).length / n;
  assert.ok(Math.abs(within1sd - 0.6827) < 0.01, `P(|x| < sd) = ${within1sd}`);
});

test("dot and sum_squares match plain loops", async () => {
  const engine = await newEngine();
  const x = uniform(37), y = uniform(37);
  const px = put(engine, x), py = put(engine, y);
  let d = 0, s = 0;
  for (let i = 0; i < 37; i++) { d += x[i]! * y[i]!; s += x[i]! * x[i]!; }
  assert.ok(Math.abs(engine.k.dot(37, px.ptr, py.ptr) - d) < 1e-5);
  assert.ok(Math.abs(engine.k.sum_squares(px.ptr, 37) - s) < 1e-12);
});
