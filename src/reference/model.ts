// The model of docs/model.md in plain TypeScript, one example at a time, in float64: the test
// oracle for the WebAssembly model at any size, and the plain-JS baseline of the benchmark.
// Deliberately the literal formulas (matrix-vector products per example), independent of
// the batched layout of assembly/model.ts.

import type { Split } from "../core/data/data.js";
import type { Dims, ParamName } from "../core/model/params.js";

/** The weights, looked up by name (a Model's `tensor`, a decoded checkpoint, ...). */
export type RefWeights = (name: ParamName) => ArrayLike<number>;
export type RefGrads = Record<ParamName, Float64Array>;

export interface RefResult {
  loss: number;
  logits: Float64Array; // [n, d_vocab]
  grads: RefGrads;
}

/** Mean cross-entropy (float64), logits and the gradient of every weight. */
export function referenceLossAndGrad(w: RefWeights, d: Dims, split: Split): RefResult {
  const { d_vocab: dv, d_model: dm, n_heads: H, d_head: dh, d_mlp: dmlp } = d;
  const zeros = (n: number): Float64Array => new Float64Array(n);
  const g: RefGrads = {
    "embed.W_E": zeros(dm * dv), "blocks.0.attn.W_K": zeros(H * dh * dm), "blocks.0.attn.W_Q": zeros(H * dh * dm),
    "blocks.0.attn.W_V": zeros(H * dh * dm), "blocks.0.attn.W_O": zeros(dm * H * dh), "blocks.0.mlp.W_in": zeros(dmlp * dm),
    "blocks.0.mlp.W_out": zeros(dm * dmlp), "unembed.W_U": zeros(dm * dv),
  };
  const WE = w("embed.W_E"), WK = w("blocks.0.attn.W_K"), WQ = w("blocks.0.attn.W_Q"), WV = w("blocks.0.attn.W_V");
  const WO = w("blocks.0.attn.W_O"), Win = w("blocks.0.mlp.W_in"), Wout = w("blocks.0.mlp.W_out"), WU = w("unembed.W_U");
  const logits = zeros(split.n * dv);
  let total = 0;
  for (let ex = 0; ex < split.n; ex++) {
    const tok = [0, 1, 2].map((i) => split.tokens[3 * ex + i]!);
    const x = tok.map((t) => Float64Array.from({ length: dm }, (_, r) => WE[r * dv + t]!));
    // attention of the last position, per head
    const q: Float64Array[] = [], k: Float64Array[][] = [], v: Float64Array[][] = [], a: number[][] = [];
    const z = zeros(H * dh);
    for (let h = 0; h < H; h++) {
      const rows = (W: ArrayLike<number>, xi: Float64Array): Float64Array => matvec(W, h * dh * dm, dh, dm, xi);
      q.push(rows(WQ, x[2]!));
      k.push(x.map((xi) => rows(WK, xi)));
      v.push(x.map((xi) => rows(WV, xi)));
      const s = k[h]!.map((ki) => dotv(q[h]!, ki) / Math.sqrt(dh));
      const mx = Math.max(...s);
      const e = s.map((si) => Math.exp(si - mx));
      const sum = e.reduce((p, c) => p + c, 0);
      a.push(e.map((ei) => ei / sum));
      for (let j = 0; j < dh; j++) z[h * dh + j] = a[h]!.reduce((acc, ai, i) => acc + ai * v[h]![i]![j]!, 0);
    }
    const residMid = addv(x[2]!, matvec(WO, 0, dm, H * dh, z));
    const pre = matvec(Win, 0, dmlp, dm, residMid);
    const post = pre.map((p) => Math.max(p, 0));
    const residPost = addv(residMid, matvec(Wout, 0, dm, dmlp, post));
    const lg = Float64Array.from({ length: dv }, (_, c) => { let s = 0; for (let r = 0; r < dm; r++) s += residPost[r]! * WU[r * dv + c]!; return s; });
    logits.set(lg, ex * dv);
    // loss and its gradient
    const mx = Math.max(...lg);
    const lse = mx + Math.log(lg.reduce((s, l) => s + Math.exp(l - mx), 0));
    const label = split.labels[ex]!;
    total += lse - lg[label]!;
    const dlg = lg.map((l, c) => (Math.exp(l - lse) - (c === label ? 1 : 0)) / split.n);
    // backward, layer by layer
    const dResidPost = zeros(dm);
    for (let r = 0; r < dm; r++) for (let c = 0; c < dv; c++) { g["unembed.W_U"][r * dv + c]! += residPost[r]! * dlg[c]!; dResidPost[r]! += WU[r * dv + c]! * dlg[c]!; }
    const dPre = zeros(dmlp);
    for (let r = 0; r < dm; r++) for (let m = 0; m < dmlp; m++) { g["blocks.0.mlp.W_out"][r * dmlp + m]! += dResidPost[r]! * post[m]!; if (pre[m]! > 0) dPre[m]! += Wout[r * dmlp + m]! * dResidPost[r]!; }
    const dResidMid = Float64Array.from(dResidPost);
    for (let m = 0; m < dmlp; m++) for (let c = 0; c < dm; c++) { g["blocks.0.mlp.W_in"][m * dm + c]! += dPre[m]! * residMid[c]!; dResidMid[c]! += Win[m * dm + c]! * dPre[m]!; }
    const dz = zeros(H * dh);
    for (let r = 0; r < dm; r++) for (let f = 0; f < H * dh; f++) { g["blocks.0.attn.W_O"][r * H * dh + f]! += dResidMid[r]! * z[f]!; dz[f]! += WO[r * H * dh + f]! * dResidMid[r]!; }
    const dx = x.map(() => zeros(dm));
    dx[2]!.set(dResidMid);
    for (let h = 0; h < H; h++) {
      const dzh = dz.subarray(h * dh, (h + 1) * dh);
      const da = v[h]!.map((vi) => dotv(dzh, vi));
      const mean = a[h]!.reduce((s, ai, i) => s + ai * da[i]!, 0);
      const ds = a[h]!.map((ai, i) => (ai * (da[i]! - mean)) / Math.sqrt(dh));
      const dq = zeros(dh);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < dh; j++) dq[j]! += ds[i]! * k[h]![i]![j]!;
        const dk = q[h]!.map((qj) => ds[i]! * qj);
        const dv_ = dzh.map((dzj) => a[h]![i]! * dzj);
        outerAdd(g["blocks.0.attn.W_K"], h * dh * dm, dk, x[i]!, WK, dx[i]!);
        outerAdd(g["blocks.0.attn.W_V"], h * dh * dm, dv_, x[i]!, WV, dx[i]!);
      }
      outerAdd(g["blocks.0.attn.W_Q"], h * dh * dm, dq, x[2]!, WQ, dx[2]!);
    }
    for (let i = 0; i < 3; i++) for (let r = 0; r < dm; r++) g["embed.W_E"][r * dv + tok[i]!]! += dx[i]![r]!;
  }
  return { loss: total / split.n, logits, grads: g };
}

// y = W[off + (rows x cols)] · x
function matvec(W: ArrayLike<number>, off: number, rows: number, cols: number, x: Float64Array): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) { let s = 0; for (let c = 0; c < cols; c++) s += W[off + r * cols + c]! * x[c]!; y[r] = s; }
  return y;
}

// For y = W x (W a block of rows at `off`): dW += dy xᵀ and dx += Wᵀ dy.
function outerAdd(dW: Float64Array, off: number, dy: Float64Array, x: Float64Array, W: ArrayLike<number>, dx: Float64Array): void {
  const cols = x.length;
  for (let r = 0; r < dy.length; r++) {
    for (let c = 0; c < cols; c++) { dW[off + r * cols + c]! += dy[r]! * x[c]!; dx[c]! += W[off + r * cols + c]! * dy[r]!; }
  }
}

const dotv = (x: ArrayLike<number>, y: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!; return s; };
const addv = (x: Float64Array, y: Float64Array): Float64Array => x.map((xi, i) => xi + y[i]!);
