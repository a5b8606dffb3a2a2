// Elementwise and row-wise kernels: ReLU, cross-entropy with an f64 log-sum-exp, argmax.

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
 * SUM of the cross-entropies of `rows` rows of f32 logits [rows, n] against integer labels,
 * computed in f64 (float32 log-softmax underflows on the confident logits of a grokked
 * model). When `dlogits` is not 0, also writes the gradient of (sum / denominator), the
 * mean over a batch of `denominator` rows of which these are a shard:
 * (softmax - onehot) / denominator, rounded to f32 like PyTorch's cast back to the logits' dtype.
 */
export function cross_entropy(logits: usize, labels: usize, rows: i32, n: i32, dlogits: usize, denominator: f64): f64 {
  let total: f64 = 0;
  const scale = 1.0 / denominator;
  for (let r = 0; r < rows; r++) {
    const row = logits + (<usize>(r * n) << 2);
    const label = load<i32>(labels + (<usize>r << 2));
    let mx: f64 = -Infinity;
    for (let j = 0; j < n; j++) mx = max(mx, <f64>ld(row, j));
    let sum: f64 = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(<f64>ld(row, j) - mx);
    const lse = mx + Math.log(sum);
    total += lse - <f64>ld(row, label);
    if (dlogits != 0) {
      const drow = dlogits + (<usize>(r * n) << 2);
      for (let j = 0; j < n; j++) {
        const prob = Math.exp(<f64>ld(row, j) - lse);
        st(drow, j, <f32>((prob - (j == label ? 1.0 : 0.0)) * scale));
      }
    }
  }
  return total;
}

/** How many rows have their largest logit (first one on ties, like torch.argmax) at the label. */
export function count_correct(logits: usize, labels: usize, rows: i32, n: i32): i32 {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits + (<usize>(r * n) << 2);
    let best = 0;
    let bestv = ld(row, 0);
    for (let j = 1; j < n; j++) {
      const x = ld(row, j);
      if (x > bestv) { bestv = x; best = j; }
    }
    if (best == load<i32>(labels + (<usize>r << 2))) correct++;
  }
  return correct;
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
