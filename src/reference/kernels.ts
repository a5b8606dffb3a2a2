// Plain TypeScript twins of the WebAssembly kernels: the test oracles, and the plain-JS
// baseline of the benchmarks. Written for clarity (textbook loops), not speed.

/** C[M,N] (+)= op(A) · op(B), row-major, with op = transpose where asked. */
export function gemmRef(
  m: number, n: number, k: number,
  a: ArrayLike<number>, transA: boolean, b: ArrayLike<number>, transB: boolean,
  c: Float32Array, accumulate: boolean,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let kk = 0; kk < k; kk++) {
        const x = transA ? a[kk * m + i]! : a[i * k + kk]!;
        const y = transB ? b[j * k + kk]! : b[kk * n + j]!;
        s += x * y;
      }
      c[i * n + j] = (accumulate ? c[i * n + j]! : 0) + s;
    }
  }
}

/** Mean cross-entropy in float64, and (softmax - onehot) / rows. */
export function crossEntropyRef(logits: ArrayLike<number>, labels: ArrayLike<number>, rows: number, n: number): { loss: number; dlogits: Float64Array } {
  const dlogits = new Float64Array(rows * n);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, logits[r * n + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(logits[r * n + j]! - mx);
    const lse = mx + Math.log(sum);
    total += lse - logits[r * n + labels[r]!]!;
    for (let j = 0; j < n; j++) dlogits[r * n + j] = (Math.exp(logits[r * n + j]! - lse) - (j === labels[r] ? 1 : 0)) / rows;
  }
  return { loss: total / rows, dlogits };
}

/** torch.optim.AdamW's update for step t, in float64. */
export function adamwRef(
  w: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array,
  o: { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number }, t: number,
): void {
  for (let i = 0; i < w.length; i++) {
    w[i] = w[i]! * (1 - o.lr * o.weight_decay);
    m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g[i]!;
    v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g[i]! * g[i]!;
    const mhat = m[i]! / (1 - o.beta1 ** t);
    const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - o.beta2 ** t) + o.eps;
    w[i] = w[i]! - o.lr * mhat / denom;
  }
}
