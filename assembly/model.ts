// The paper's 1-layer Transformer (docs/model.md), forward and backward by hand.
// This is the straightforward reference path: it computes exactly what the PyTorch model
// computes for the last position (the only one whose logits are used), over a batch.
// Every buffer is laid out by the host; these classes only name the pointer tables it writes.
// Each class is followed by an enum of its fields' byte offsets, exported by name: the host
// writes every field at the offset the module reports for it (src/core/wasm/layout.ts).

import { gemm_nn, gemm_nt, gemm_tn } from "./gemm";
import { relu_forward, relu_backward } from "./nn";

/** Model sizes (d_vocab from src/core/data/vocab.ts); the context is always 3 tokens [a, op, b]. */
@unmanaged export class Dims {
  d_vocab: i32;
  d_model: i32;
  n_heads: i32;
  d_head: i32;
  d_mlp: i32;
}
export enum DimsLayout {
  d_vocab = offsetof<Dims>("d_vocab"), d_model = offsetof<Dims>("d_model"), n_heads = offsetof<Dims>("n_heads"),
  d_head = offsetof<Dims>("d_head"), d_mlp = offsetof<Dims>("d_mlp"),
  __size = offsetof<Dims>(),
}

/** One pointer per parameter tensor (PyTorch names and layouts; also used for gradients). */
@unmanaged export class Weights {
  W_E: usize;   // embed.W_E            [d_model, d_vocab]
  W_K: usize;   // blocks.0.attn.W_K    [n_heads, d_head, d_model]
  W_Q: usize;   // blocks.0.attn.W_Q    [n_heads, d_head, d_model]
  W_V: usize;   // blocks.0.attn.W_V    [n_heads, d_head, d_model]
  W_O: usize;   // blocks.0.attn.W_O    [d_model, n_heads*d_head]
  W_in: usize;  // blocks.0.mlp.W_in    [d_mlp, d_model]
  W_out: usize; // blocks.0.mlp.W_out   [d_model, d_mlp]
  W_U: usize;   // unembed.W_U          [d_model, d_vocab]
}
export enum WeightsLayout {
  W_E = offsetof<Weights>("W_E"), W_K = offsetof<Weights>("W_K"), W_Q = offsetof<Weights>("W_Q"), W_V = offsetof<Weights>("W_V"),
  W_O = offsetof<Weights>("W_O"), W_in = offsetof<Weights>("W_in"), W_out = offsetof<Weights>("W_out"), W_U = offsetof<Weights>("W_U"),
  __size = offsetof<Weights>(),
}

/** A batch of n examples and its activations (hook names of TransformerLens in comments). */
@unmanaged export class Batch {
  n: i32;
  tokens: usize;     // i32 [n, 3]
  labels: usize;     // i32 [n]
  x: usize;          // [n, 3, d_model]      hook_embed (= hook_resid_pre)
  q: usize;          // [n, n_heads*d_head]  attn.hook_q, last position
  k: usize;          // [n, 3, n_heads*d_head] attn.hook_k
  v: usize;          // [n, 3, n_heads*d_head] attn.hook_v
  attn: usize;       // [n, n_heads, 3]      attn.hook_pattern, last query
  z: usize;          // [n, n_heads*d_head]  attn.hook_z, last position
  resid_mid: usize;  // [n, d_model]         hook_resid_mid, last position
  pre: usize;        // [n, d_mlp]           mlp.hook_pre
  post: usize;       // [n, d_mlp]           mlp.hook_post
  resid_post: usize; // [n, d_model]         hook_resid_post, last position
  logits: usize;     // [n, d_vocab]
  // Gradients of the loss w.r.t. the activations above (0 in a forward-only batch).
  dlogits: usize;    // [n, d_vocab]
  dresid_post: usize;// [n, d_model]
  dpost: usize;      // [n, d_mlp]   (overwritten in place by d pre)
  dresid_mid: usize; // [n, d_model]
  dz: usize;         // [n, n_heads*d_head]
  dq: usize;         // [n, n_heads*d_head]
  dk: usize;         // [n, 3, n_heads*d_head]
  dv: usize;         // [n, 3, n_heads*d_head]
  dx: usize;         // [n, 3, d_model]
}
export enum BatchLayout {
  n = offsetof<Batch>("n"), tokens = offsetof<Batch>("tokens"), labels = offsetof<Batch>("labels"),
  x = offsetof<Batch>("x"), q = offsetof<Batch>("q"), k = offsetof<Batch>("k"), v = offsetof<Batch>("v"),
  attn = offsetof<Batch>("attn"), z = offsetof<Batch>("z"), resid_mid = offsetof<Batch>("resid_mid"),
  pre = offsetof<Batch>("pre"), post = offsetof<Batch>("post"), resid_post = offsetof<Batch>("resid_post"),
  logits = offsetof<Batch>("logits"), dlogits = offsetof<Batch>("dlogits"), dresid_post = offsetof<Batch>("dresid_post"),
  dpost = offsetof<Batch>("dpost"), dresid_mid = offsetof<Batch>("dresid_mid"), dz = offsetof<Batch>("dz"),
  dq = offsetof<Batch>("dq"), dk = offsetof<Batch>("dk"), dv = offsetof<Batch>("dv"), dx = offsetof<Batch>("dx"),
  __size = offsetof<Batch>(),
}

const CTX: i32 = 3;
const LAST: i32 = CTX - 1;

@inline function f32_at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Forward pass: fills every activation of `batch` up to the logits. */
export function model_forward(dims: Dims, w: Weights, batch: Batch): void {
  const n = batch.n, dm = dims.d_model, hd = dims.n_heads * dims.d_head;
  embed_forward(batch.x, batch.tokens, w.W_E, n * CTX, dm, dims.d_vocab);
  // k, v for all positions; q only for the last one (causal: it sees all three keys).
  gemm_nt(n * CTX, hd, dm, batch.x, dm, w.W_K, dm, batch.k, hd, false);
  gemm_nt(n * CTX, hd, dm, batch.x, dm, w.W_V, dm, batch.v, hd, false);
  gemm_nt(n, hd, dm, f32_at(batch.x, LAST * dm), CTX * dm, w.W_Q, dm, batch.q, hd, false);
  attention_forward(batch.attn, batch.z, batch.q, batch.k, batch.v, n, dims.n_heads, dims.d_head);
  // resid_mid = x_last + z W_Oᵀ
  copy_rows(batch.resid_mid, dm, f32_at(batch.x, LAST * dm), CTX * dm, n, dm);
  gemm_nt(n, dm, hd, batch.z, hd, w.W_O, hd, batch.resid_mid, dm, true);
  // resid_post = resid_mid + relu(resid_mid W_inᵀ) W_outᵀ
  gemm_nt(n, dims.d_mlp, dm, batch.resid_mid, dm, w.W_in, dm, batch.pre, dims.d_mlp, false);
  relu_forward(batch.post, batch.pre, n * dims.d_mlp);
  copy_rows(batch.resid_post, dm, batch.resid_mid, dm, n, dm);
  gemm_nt(n, dm, dims.d_mlp, batch.post, dims.d_mlp, w.W_out, dims.d_mlp, batch.resid_post, dm, true);
  // logits = resid_post W_U
  gemm_nn(n, dims.d_vocab, dm, batch.resid_post, dm, w.W_U, dims.d_vocab, batch.logits, dims.d_vocab, false);
}

/**
 * Backward pass from batch.dlogits (written by cross_entropy) to the weight gradients.
 * Gradients are ACCUMULATED into `grad` (the host zeroes them once per step), so a step
 * split into several batches sums their contributions. A null pointer in `grad` is a frozen
 * tensor: its gradient, and work that only it needs, is skipped.
 */
export function model_backward(dims: Dims, w: Weights, grad: Weights, batch: Batch): void {
  const n = batch.n, dm = dims.d_model, hd = dims.n_heads * dims.d_head, dmlp = dims.d_mlp;
  const dv = dims.d_vocab;
  // forward was: logits = resid_post W_U
  if (grad.W_U) gemm_tn(dm, dv, n, batch.resid_post, dm, batch.dlogits, dv, grad.W_U, dv, true);
  gemm_nt(n, dm, dv, batch.dlogits, dv, w.W_U, dv, batch.dresid_post, dm, false);
  // forward was: resid_post = resid_mid + post W_outᵀ, post = relu(pre), pre = resid_mid W_inᵀ
  if (grad.W_out) gemm_tn(dm, dmlp, n, batch.dresid_post, dm, batch.post, dmlp, grad.W_out, dmlp, true);
  gemm_nn(n, dmlp, dm, batch.dresid_post, dm, w.W_out, dmlp, batch.dpost, dmlp, false);
  relu_backward(batch.dpost, batch.dpost, batch.pre, n * dmlp);
  if (grad.W_in) gemm_tn(dmlp, dm, n, batch.dpost, dmlp, batch.resid_mid, dm, grad.W_in, dm, true);
  copy_rows(batch.dresid_mid, dm, batch.dresid_post, dm, n, dm);
  gemm_nn(n, dm, dmlp, batch.dpost, dmlp, w.W_in, dm, batch.dresid_mid, dm, true);
  // forward was: resid_mid = x_last + z W_Oᵀ
  if (grad.W_O) gemm_tn(dm, hd, n, batch.dresid_mid, dm, batch.z, hd, grad.W_O, hd, true);
  gemm_nn(n, hd, dm, batch.dresid_mid, dm, w.W_O, hd, batch.dz, hd, false);
  attention_backward(batch.dq, batch.dk, batch.dv, batch.dz, batch.attn, batch.q, batch.k, batch.v, n, dims.n_heads, dims.d_head);
  // forward was: q = x_last W_Qᵀ, k = x W_Kᵀ, v = x W_Vᵀ
  if (grad.W_Q) gemm_tn(hd, dm, n, batch.dq, hd, f32_at(batch.x, LAST * dm), CTX * dm, grad.W_Q, dm, true);
  if (grad.W_K) gemm_tn(hd, dm, n * CTX, batch.dk, hd, batch.x, dm, grad.W_K, dm, true);
  if (grad.W_V) gemm_tn(hd, dm, n * CTX, batch.dv, hd, batch.x, dm, grad.W_V, dm, true);
  if (!grad.W_E) return;
  // forward was: x = W_E[:, tokens]; dx only serves the embedding's gradient
  gemm_nn(n * CTX, dm, hd, batch.dk, hd, w.W_K, dm, batch.dx, dm, false);
  gemm_nn(n * CTX, dm, hd, batch.dv, hd, w.W_V, dm, batch.dx, dm, true);
  gemm_nn(n, dm, hd, batch.dq, hd, w.W_Q, dm, f32_at(batch.dx, LAST * dm), CTX * dm, true);
  add_rows(f32_at(batch.dx, LAST * dm), CTX * dm, batch.dresid_mid, dm, n, dm);
  embed_backward(grad.W_E, batch.dx, batch.tokens, n * CTX, dm, dv);
}

// ---- embedding: x[r, :] = W_E[:, token[r]] ----

function embed_forward(x: usize, tokens: usize, W_E: usize, rows: i32, dm: i32, dv: i32): void {
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(tokens + (<usize>r << 2));
    const xr = x + (<usize>(r * dm) << 2);
    for (let d = 0; d < dm; d++) store<f32>(xr + (<usize>d << 2), load<f32>(f32_at(W_E, d * dv + t)));
  }
}

function embed_backward(dW_E: usize, dx: usize, tokens: usize, rows: i32, dm: i32, dv: i32): void {
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(tokens + (<usize>r << 2));
    const dxr = dx + (<usize>(r * dm) << 2);
    // forward was: x[r, d] = W_E[d, t]; so dW_E[d, t] += dx[r, d]
    for (let d = 0; d < dm; d++) {
      const p = f32_at(dW_E, d * dv + t);
      store<f32>(p, load<f32>(p) + load<f32>(dxr + (<usize>d << 2)));
    }
  }
}

// ---- attention of the last query over the 3 keys, per head ----

function attention_forward(attn: usize, z: usize, q: usize, k: usize, v: usize, n: i32, heads: i32, dh: i32): void {
  const hd = heads * dh;
  const scale = Mathf.sqrt(<f32>dh);
  for (let b = 0; b < n; b++) {
    for (let h = 0; h < heads; h++) {
      const qh = f32_at(q, b * hd + h * dh);
      const pat = f32_at(attn, (b * heads + h) * CTX);
      // scores s_i = q.k_i / sqrt(d_head), softmax over i
      let mx: f32 = -Infinity;
      for (let i = 0; i < CTX; i++) {
        const s = dot_f32(qh, f32_at(k, (b * CTX + i) * hd + h * dh), dh) / scale;
        store<f32>(f32_at(pat, i), s);
        mx = max(mx, s);
      }
      let sum: f32 = 0;
      for (let i = 0; i < CTX; i++) {
        const e = Mathf.exp(load<f32>(f32_at(pat, i)) - mx);
        store<f32>(f32_at(pat, i), e);
        sum += e;
      }
      for (let i = 0; i < CTX; i++) store<f32>(f32_at(pat, i), load<f32>(f32_at(pat, i)) / sum);
      // z = sum_i a_i v_i
      const zh = f32_at(z, b * hd + h * dh);
      for (let j = 0; j < dh; j++) {
        let acc: f32 = 0;
        for (let i = 0; i < CTX; i++) acc += load<f32>(f32_at(pat, i)) * load<f32>(f32_at(v, (b * CTX + i) * hd + h * dh + j));
        store<f32>(f32_at(zh, j), acc);
      }
    }
  }
}

function attention_backward(dq: usize, dk: usize, dv: usize, dz: usize, attn: usize, q: usize, k: usize, v: usize,
                            n: i32, heads: i32, dh: i32): void {
  const hd = heads * dh;
  const scale = Mathf.sqrt(<f32>dh);
  for (let b = 0; b < n; b++) {
    for (let h = 0; h < heads; h++) {
      const pat = f32_at(attn, (b * heads + h) * CTX);
      const dzh = f32_at(dz, b * hd + h * dh);
      const qh = f32_at(q, b * hd + h * dh);
      // forward was: z = sum_i a_i v_i; so da_i = dz.v_i and dv_i = a_i dz
      // forward was: a = softmax(s); so ds_i = a_i (da_i - sum_j a_j da_j)
      let da0: f32 = 0, da1: f32 = 0, da2: f32 = 0;
      const a0 = load<f32>(pat), a1 = load<f32>(f32_at(pat, 1)), a2 = load<f32>(f32_at(pat, 2));
      da0 = dot_f32(dzh, f32_at(v, (b * CTX) * hd + h * dh), dh);
      da1 = dot_f32(dzh, f32_at(v, (b * CTX + 1) * hd + h * dh), dh);
      da2 = dot_f32(dzh, f32_at(v, (b * CTX + 2) * hd + h * dh), dh);
      const mean = a0 * da0 + a1 * da1 + a2 * da2;
      // forward was: s_i = q.k_i / sqrt(d_head); so dq = sum_i ds_i k_i / sqrt(d_head), dk_i = ds_i q / sqrt(d_head)
      const ds0 = a0 * (da0 - mean) / scale, ds1 = a1 * (da1 - mean) / scale, ds2 = a2 * (da2 - mean) / scale;
      const k0 = f32_at(k, (b * CTX) * hd + h * dh), k1 = f32_at(k, (b * CTX + 1) * hd + h * dh), k2 = f32_at(k, (b * CTX + 2) * hd + h * dh);
      const dqh = f32_at(dq, b * hd + h * dh);
      for (let j = 0; j < dh; j++) {
        const o = <usize>j << 2;
        store<f32>(dqh + o, ds0 * load<f32>(k0 + o) + ds1 * load<f32>(k1 + o) + ds2 * load<f32>(k2 + o));
        const qj = load<f32>(qh + o), dzj = load<f32>(dzh + o);
        store<f32>(f32_at(dk, (b * CTX) * hd + h * dh) + o, ds0 * qj);
        store<f32>(f32_at(dk, (b * CTX + 1) * hd + h * dh) + o, ds1 * qj);
        store<f32>(f32_at(dk, (b * CTX + 2) * hd + h * dh) + o, ds2 * qj);
        store<f32>(f32_at(dv, (b * CTX) * hd + h * dh) + o, a0 * dzj);
        store<f32>(f32_at(dv, (b * CTX + 1) * hd + h * dh) + o, a1 * dzj);
        store<f32>(f32_at(dv, (b * CTX + 2) * hd + h * dh) + o, a2 * dzj);
      }
    }
  }
}

@inline function dot_f32(x: usize, y: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let j = 0; j < n; j++) s += load<f32>(x + (<usize>j << 2)) * load<f32>(y + (<usize>j << 2));
  return s;
}

// ---- row copies between strided matrices ----

function copy_rows(dst: usize, ldd: i32, src: usize, lds: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) memory.copy(dst + (<usize>(r * ldd) << 2), src + (<usize>(r * lds) << 2), <usize>cols << 2);
}

function add_rows(dst: usize, ldd: i32, src: usize, lds: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const d = dst + (<usize>(r * ldd) << 2), s = src + (<usize>(r * lds) << 2);
    for (let c = 0; c < cols; c++) store<f32>(d + (<usize>c << 2), load<f32>(d + (<usize>c << 2)) + load<f32>(s + (<usize>c << 2)));
  }
}
