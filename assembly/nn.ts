// Elementwise and row-wise kernels: ReLU, cross-entropy with an f64 log-sum-exp, argmax.

import { exp_f32x4 } from "./expf";
import { store_lanes } from "./gemm";

@inline function ld(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

@inline function st(p: usize, i: i32, x: f32): void {
  store<f32>(p + (<usize>i << 2), x);
}

/** out[i] = max(inp[i], 0). */
export function relu_forward(out: usize, inp: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), f32x4.max(v128.load(inp + (<usize>i << 2)), zero));
  for (; i < n; i++) st(out, i, max<f32>(ld(inp, i), 0));
}

/** dinp[i] = inp[i] > 0 ? dout[i] : 0 (PyTorch's ReLU gradient at 0 is 0). */
export function relu_backward(dinp: usize, dout: usize, inp: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    // forward was: out = max(inp, 0); so dinp = dout where inp > 0
    v128.store(dinp + o, v128.and(v128.load(dout + o), f32x4.gt(v128.load(inp + o), zero)));
  }
  for (; i < n; i++) st(dinp, i, ld(inp, i) > 0 ? ld(dout, i) : 0);
}

/**
 * SUM of the cross-entropies of `rows` rows of f32 logits [rows, n] against integer labels.
 * Each exp(x - max) is a float32 SIMD exp (exp_f32x4, within 2 ulp), summed in f64, and the
 * log-sum-exp is taken in f64: float32 log-softmax would round the loss of a confident row
 * (1 + 1e-9) to 0. When `dlogits` is not 0, also writes the gradient of (sum / denominator),
 * the mean over a batch of `denominator` rows of which these are a shard:
 * (softmax - onehot) / denominator in f32 (entries below 2^-100 as 0, see FLUSH), the label's
 * entry -(sum of the other exps) / sum taken in f64 so it keeps its digits when the
 * probability is close to 1.
 */
export function cross_entropy(logits: usize, labels: usize, rows: i32, n: i32, dlogits: usize, denominator: f64): f64 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) total += row_cross_entropy(logits, labels, r, n, dlogits, denominator);
  return total;
}

/**
 * The cross-entropy of each row, as cross_entropy computes it (and the same gradient), into
 * `losses` (f64 [rows]) instead of summed: a caller that cuts a batch into shards of any size
 * can then add them in one fixed order.
 */
export function cross_entropies(logits: usize, labels: usize, rows: i32, n: i32, dlogits: usize, denominator: f64, losses: usize): void {
  for (let r = 0; r < rows; r++) store<f64>(losses + (<usize>r << 3), row_cross_entropy(logits, labels, r, n, dlogits, denominator));
}

// Row r's loss, and with `dlogits` (not 0) its row of the gradient.
@inline function row_cross_entropy(logits: usize, labels: usize, r: i32, n: i32, dlogits: usize, denominator: f64): f64 {
  const row = logits + (<usize>(r * n) << 2);
  const label = load<i32>(labels + (<usize>r << 2));
  const mx = row_max(row, n);
  // With a gradient, the exps go to its row on the way (computed once, scaled after).
  const drow: usize = dlogits == 0 ? 0 : dlogits + (<usize>(r * n) << 2);
  const sum = sum_exp(row, n, mx, drow);
  if (drow != 0) {
    // forward was: loss = lse - x_label, so d x_label = prob_label - 1 = (e_label - sum) / sum
    const e_label = <f64>ld(drow, label);
    scale_softmax(drow, n, <f32>(1.0 / (sum * denominator)));
    st(drow, label, <f32>(((e_label - sum) / sum) / denominator));
  }
  return (<f64>mx + Math.log(sum)) - <f64>ld(row, label);
}

// Lanes j..j+3 of a row of n floats; lanes at or past n read as -Infinity (exp gives 0).
@inline function lanes(row: usize, j: i32, n: i32): v128 {
  if (j + 4 <= n) return v128.load(row + (<usize>j << 2));
  let v = f32x4.splat(-Infinity);
  if (j < n) v = f32x4.replace_lane(v, 0, ld(row, j));
  if (j + 1 < n) v = f32x4.replace_lane(v, 1, ld(row, j + 1));
  if (j + 2 < n) v = f32x4.replace_lane(v, 2, ld(row, j + 2));
  return v;
}

// The largest float of a row, NaN if it holds one. The maximum is taken with pmax (x86's
// maxps: WebAssembly's f32x4.max, which orders -0 below +0 and carries NaNs, costs several
// instructions on x86); the NaNs are looked for separately. A row's maximum only differs
// between the two in the sign of a zero, which no use of it can tell apart.
function row_max(row: usize, n: i32): f32 {
  let m = f32x4.splat(-Infinity), nan = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const x = v128.load(row + (<usize>j << 2));
    m = f32x4.pmax(m, x);
    nan = v128.or(nan, f32x4.ne(x, x));
  }
  if (j < n) {
    const x = lanes(row, j, n);
    m = f32x4.pmax(m, x);
    nan = v128.or(nan, f32x4.ne(x, x));
  }
  if (v128.any_true(nan)) return NaN;
  return max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

// sum_j exp(x_j - mx), each exp in f32, added in f64 (two f64x2 lanes per vector); the exps
// also go to out[0..n] unless out is 0.
function sum_exp(row: usize, n: i32, mx: f32, out: usize): f64 {
  const m = f32x4.splat(mx);
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  let j = 0;
  // Two vectors a pass: their exps (long chains of dependent operations) overlap.
  for (; j + 8 <= n; j += 8) {
    const o = <usize>j << 2;
    const e0 = exp_f32x4(f32x4.sub(v128.load(row + o), m)), e1 = exp_f32x4(f32x4.sub(v128.load(row + o, 16), m));
    if (out != 0) {
      v128.store(out + o, e0);
      v128.store(out + o, e1, 16);
    }
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(e0));
    hi = f64x2.add(hi, promote_high(e0));
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(e1));
    hi = f64x2.add(hi, promote_high(e1));
  }
  for (; j < n; j += 4) {
    const e = exp_f32x4(f32x4.sub(lanes(row, j, n), m));
    if (out != 0) put_lanes(out, j, n, e);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(e));
    hi = f64x2.add(hi, promote_high(e));
  }
  const s = f64x2.add(lo, hi);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

// Lanes 2 and 3 of e as two f64.
@inline function promote_high(e: v128): v128 {
  return f64x2.promote_low_f32x4(i8x16.shuffle(e, e, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
}

// Probabilities (over the batch size) below this are written as 0. Their contributions lie
// far below float32 resolution of every sum they enter, while a subnormal float (< 2^-126)
// would cost the products downstream ~100 cycles per operation on x86: late in training,
// when most probabilities are tiny, that made a step 30% slower.
const FLUSH: f32 = 7.888609052210118e-31; // 2^-100

// e_j = e_j * inv over the exps sum_exp wrote, 0 where that is below FLUSH (whole vectors in
// the loop, a last partial one after it, as row_max: no branch a vector)
function scale_softmax(e: usize, n: i32, inv: f32): void {
  const s = f32x4.splat(inv), tiny = f32x4.splat(FLUSH);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = e + (<usize>j << 2);
    const p = f32x4.mul(v128.load(o), s);
    v128.store(o, v128.and(p, f32x4.ge(p, tiny)));
  }
  if (j < n) {
    const p = f32x4.mul(lanes(e, j, n), s);
    put_lanes(e, j, n, v128.and(p, f32x4.ge(p, tiny)));
  }
}

// Stores lanes j..j+3 of a row of n floats, those before n (the store beside `lanes`).
@inline function put_lanes(row: usize, j: i32, n: i32, v: v128): void {
  if (j + 4 <= n) v128.store(row + (<usize>j << 2), v);
  else store_lanes(row + (<usize>j << 2), v, n - j);
}

/** How many rows have their largest logit (first one on ties, like torch.argmax) at the label. */
export function count_correct(logits: usize, labels: usize, rows: i32, n: i32): i32 {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits + (<usize>(r * n) << 2);
    if (first_max(row, n) == load<i32>(labels + (<usize>r << 2))) correct++;
  }
  return correct;
}

// The index of the first largest float of a row (NaN never counts as largest). The maximum
// comes from row_max, then the first vector with a lane equal to it: one comparison a vector,
// and no branch a float, whose outcome a CPU cannot predict on noisy logits.
function first_max(row: usize, n: i32): i32 {
  const mx = row_max(row, n);
  if (mx != mx) return first_max_scalar(row, n); // the row holds a NaN (row_max says so)
  const m = f32x4.splat(mx);
  for (let j = 0; j < n; j += 4) {
    const hits = i32x4.bitmask(f32x4.eq(lanes(row, j, n), m));
    if (hits != 0) return j + ctz(hits);
  }
  return 0;
}

function first_max_scalar(row: usize, n: i32): i32 {
  let best = 0;
  let bestv = ld(row, 0);
  for (let j = 1; j < n; j++) {
    const x = ld(row, j);
    if (x > bestv) { bestv = x; best = j; }
  }
  return best;
}

/** Sum of squares in f64 (weight norms). */
export function sum_squares(x: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64>ld(x, i);
    s += v * v;
  }
  return s;
}
