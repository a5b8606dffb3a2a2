// The fast path: the same model and the same gradients as model.ts, with less work.
//
// The model has no positional embedding and only d_vocab distinct tokens, and only the last
// position's logits are used, so everything linear in a token is tabulated once per step:
//
//   R_0[t]     = x_t = W_E[:, t]                 R_{1+h}[t] = W_O[:, h] W_V[h] x_t   [(1+H), dv, dm]
//   S[h][u][t] = (W_Q[h] x_u).(W_K[h] x_t) / sqrt(d_head)                          [H, dv, dv]
//   P = R W_inᵀ  [(1+H), dv, d_mlp]     U = R W_U  [(1+H), dv, dv]     WLT = W_outᵀ W_U  [d_mlp, dv]
//
// and one example [t0, t1, t2] needs only (a_hi = softmax_i S[h][t2][t_i]):
//
//   pre    = P_0[t2] + sum_{h,i} a_hi P_{1+h}[t_i]          (= W_in resid_mid)
//   logits = U_0[t2] + sum_{h,i} a_hi U_{1+h}[t_i] + relu(pre) WLT   (= W_U^T resid_post)
//
// Backward runs the same way in reverse: per example, d logits -> d pre and d attn
// (shard_loss_and_grad); then the table gradients, each entry summed over the examples that
// used it (table_grad_columns, dWLT as one long product, score_grads); then table gradients
// -> weight gradients (tables_backward_rows, _head and _embedding, once per step, independent
// of the batch size). Every parallel piece writes outputs of its own (rows or columns), so no
// partial sums exist and the result does not depend on how many workers share a step.

import { gemm_nn, gemm_nn_panels, gemm_nn_panels_gated, gemm_nt, gemm_tn, gemm_tn_packing, pack_panels, store_row } from "./gemm";
import { relu_forward, cross_entropies, count_correct } from "./nn";
import { mathf_exp_f32x4 } from "./expf";
import { Dims, Weights } from "./model";

/** The per-step token tables and their gradients (host-laid-out). */
@unmanaged export class Tables {
  Qt: usize;  // [dv, H*dh]        query of each token
  Kt: usize;  // [dv, H*dh]        key of each token
  Vt: usize;  // [dv, H*dh]        value of each token
  S: usize;   // [H, dv, dv]       scaled score of query token u on key token t
  R: usize;   // [(1+H), dv, dm]   residual-stream contribution: R_0 = embedding, R_{1+h} = head h output
  P: usize;   // [(1+H), dv, dmlp] R W_inᵀ (rows mlp_stride(dmlp) floats apart, as every row of d_mlp floats here)
  U: usize;   // [(1+H), dv, dv]   R W_U
  WLT: usize;  // [dmlp, dv]       W_outᵀ W_U (neuron -> logit map)
  WLTp: usize; // WLT packed by pack_panels (B of logits += post WLT)
  WLp: usize;  // its transpose W_Uᵀ W_out [dv, dmlp], packed (B of dpost = dlogits WL)
  dQt: usize;
  dKt: usize;
  dVt: usize;
  dS: usize;
  dR: usize;
  dP: usize;
  dU: usize;
  dWLT: usize;
}
export enum TablesLayout {
  Qt = offsetof<Tables>("Qt"), Kt = offsetof<Tables>("Kt"), Vt = offsetof<Tables>("Vt"), S = offsetof<Tables>("S"),
  R = offsetof<Tables>("R"), P = offsetof<Tables>("P"), U = offsetof<Tables>("U"), WLT = offsetof<Tables>("WLT"),
  WLTp = offsetof<Tables>("WLTp"), WLp = offsetof<Tables>("WLp"),
  dQt = offsetof<Tables>("dQt"), dKt = offsetof<Tables>("dKt"), dVt = offsetof<Tables>("dVt"), dS = offsetof<Tables>("dS"),
  dR = offsetof<Tables>("dR"), dP = offsetof<Tables>("dP"), dU = offsetof<Tables>("dU"), dWLT = offsetof<Tables>("dWLT"),
  __size = offsetof<Tables>(),
}

/** A batch on the fast path: only what is per example. */
@unmanaged export class FastBatch {
  n: i32;
  tokens: usize;  // i32 [n, 3]
  labels: usize;  // i32 [n]
  attn: usize;    // [n, H, 3]   attn.hook_pattern of the last query
  post: usize;    // [n, dmlp]   mlp.hook_post (rows mlp_stride(dmlp) apart; each row mixed and put through the ReLU in one pass)
  logits: usize;  // [n, dv]
  dlogits: usize; // [n, dv]     (0 in a forward-only batch)
  dpost: usize;   // [n, dmlp]   (rows mlp_stride(dmlp) apart; overwritten in place by d pre)
  dlogitsT: usize; // [dv rounded up to 4, panel_rows]  dlogits transposed: A of dWLTᵀ = dlogitsᵀ post, rows contiguous (a shard: at its first column; the rows past dv stay 0)
  da: usize;      // [n, H, CTX]  d attn (attn.hook_pattern's gradient)
  gather_order: usize; // i32 [n * CTX]  every (example b, position i) as b << 2 | i, in the order table_grad_columns takes them (whole batch only)
  panel_rows: i32; // the whole batch's n
  gather_slots: usize;   // i32 [n, CTX]  where each (example, position) sits in the gather order (a shard: its rows)
  gather_weights: usize; // [n * CTX, H]  each pair's attention weight in every head, in gather order (whole batch, written by the shards)
  last_order: usize;     // i32 [n]  every example grouped by its last token, in batch order within a token (whole batch only)
  losses: usize;         // f64 [n]  each example's loss (written by the shards; the host adds them in a fixed order)
}
export enum FastBatchLayout {
  n = offsetof<FastBatch>("n"), tokens = offsetof<FastBatch>("tokens"), labels = offsetof<FastBatch>("labels"),
  attn = offsetof<FastBatch>("attn"), post = offsetof<FastBatch>("post"),
  logits = offsetof<FastBatch>("logits"), dlogits = offsetof<FastBatch>("dlogits"), dpost = offsetof<FastBatch>("dpost"),
  dlogitsT = offsetof<FastBatch>("dlogitsT"), da = offsetof<FastBatch>("da"),
  gather_order = offsetof<FastBatch>("gather_order"),
  panel_rows = offsetof<FastBatch>("panel_rows"),
  gather_slots = offsetof<FastBatch>("gather_slots"), gather_weights = offsetof<FastBatch>("gather_weights"),
  last_order = offsetof<FastBatch>("last_order"), losses = offsetof<FastBatch>("losses"),
  __size = offsetof<FastBatch>(),
}

const CTX: i32 = 3;

/**
 * Floats from one row of d_mlp floats to the next in P, dP, post and d post: whole cache
 * lines, an odd number of them. Rows a power of two apart (2 KB at d_mlp = 512) fall in a
 * few of the cache's sets, so the rows a gather, a mix or a product walks down evict each
 * other; an odd number of lines apart they spread over all of them.
 */
export function mlp_stride(d_mlp: i32): i32 {
  return (((d_mlp + 15) >> 4) | 1) << 4;
}

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// ---- tables: weights -> tables, and table gradients -> weight gradients ----

/** R_0 = W_Eᵀ, one row per token: the first block of R, which every other table starts from. */
export function tables_embedding(dims: Dims, w: Weights, tb: Tables): void {
  transpose(tb.R, dims.d_model, w.W_E, dims.d_vocab, dims.d_model, dims.d_vocab);
}

/**
 * Head h's tables (after tables_embedding): its columns of Qt, Kt and Vt, its scores S_h and
 * its residual contribution R_{1+h}. Every element is one dot product, whatever the slice.
 */
export function tables_forward_head(dims: Dims, w: Weights, tb: Tables, h: i32): void {
  const dv = dims.d_vocab, dm = dims.d_model, dh = dims.d_head, hd = dims.n_heads * dh;
  const c = h * dh;
  gemm_nt(dv, dh, dm, tb.R, dm, at(w.W_Q, c * dm), dm, at(tb.Qt, c), hd, false);
  gemm_nt(dv, dh, dm, tb.R, dm, at(w.W_K, c * dm), dm, at(tb.Kt, c), hd, false);
  gemm_nt(dv, dh, dm, tb.R, dm, at(w.W_V, c * dm), dm, at(tb.Vt, c), hd, false);
  const Sh = at(tb.S, h * dv * dv);
  gemm_nt(dv, dv, dh, at(tb.Qt, c), hd, at(tb.Kt, c), hd, Sh, dv, false);
  divide(Sh, dv * dv, Mathf.sqrt(<f32>dh));
  // R_{1+h}[t] = W_O[:, h-block] V_h[t]
  gemm_nt(dv, dm, dh, at(tb.Vt, c), hd, at(w.W_O, c), hd, at(tb.R, (1 + h) * dv * dm), dm, false);
}

/** The neuron -> logit map WLT = W_outᵀ W_U, and it and its transpose packed in panels. */
export function tables_forward_neurons(dims: Dims, w: Weights, tb: Tables): void {
  const dv = dims.d_vocab, dm = dims.d_model, dmlp = dims.d_mlp;
  gemm_tn(dmlp, dv, dm, w.W_out, dmlp, w.W_U, dv, tb.WLT, dv, false);
  pack_panels(tb.WLTp, tb.WLT, dmlp, dv, dv, 1, dmlp, 8);
  pack_panels(tb.WLp, tb.WLT, dv, dmlp, 1, dv, dv, 8);
}

/** Part `part` of `parts` of the rows of P = R W_inᵀ and U = R W_U (R must be current). */
export function tables_forward_rows(dims: Dims, w: Weights, tb: Tables, part: i32, parts: i32): void {
  const dv = dims.d_vocab, dm = dims.d_model, dmlp = dims.d_mlp, ldp = mlp_stride(dmlp);
  const r0 = cut((1 + dims.n_heads) * dv, part, parts), r1 = cut((1 + dims.n_heads) * dv, part + 1, parts);
  gemm_nt(r1 - r0, dmlp, dm, at(tb.R, r0 * dm), dm, w.W_in, dm, at(tb.P, r0 * ldp), ldp, false);
  gemm_nn(r1 - r0, dv, dm, at(tb.R, r0 * dm), dm, w.W_U, dv, at(tb.U, r0 * dv), dv, false);
}

/**
 * Part `part` of `parts` of the MLP and unembedding side of the backward through the tables
 * (after the table gradients dP, dU, dWLT): rows of dR, of g.W_in, of g.W_out and g.W_U.
 * Forward was P = R W_inᵀ, U = R W_U, WLT = W_outᵀ W_U. Weight gradients are accumulated;
 * a null pointer in `g` is a frozen tensor, whose gradient is skipped. `scratch` is this
 * call's own pack_scratch_floats(ceil(d_mlp / parts)) floats.
 */
export function tables_backward_rows(dims: Dims, w: Weights, g: Weights, tb: Tables, part: i32, parts: i32, scratch: usize): void {
  const dv = dims.d_vocab, dm = dims.d_model, dmlp = dims.d_mlp, ldp = mlp_stride(dmlp), rows = (1 + dims.n_heads) * dv;
  const r0 = cut(rows, part, parts), r1 = cut(rows, part + 1, parts);
  gemm_nt(r1 - r0, dm, dv, at(tb.dU, r0 * dv), dv, w.W_U, dv, at(tb.dR, r0 * dm), dm, false);
  gemm_nn(r1 - r0, dm, dmlp, at(tb.dP, r0 * ldp), ldp, w.W_in, dm, at(tb.dR, r0 * dm), dm, true);
  const n0 = cut(dmlp, part, parts), n1 = cut(dmlp, part + 1, parts);
  if (g.W_in) gemm_tn_packing(n1 - n0, dm, rows, at(tb.dP, n0), ldp, tb.R, dm, at(g.W_in, n0 * dm), dm, true, scratch);
  const d0 = cut(dm, part, parts), d1 = cut(dm, part + 1, parts);
  if (g.W_out) gemm_nt(d1 - d0, dmlp, dv, at(w.W_U, d0 * dv), dv, tb.dWLT, dv, at(g.W_out, d0 * dmlp), dmlp, true);
  if (!g.W_U) return;
  gemm_nn(d1 - d0, dv, dmlp, at(w.W_out, d0 * dmlp), dmlp, tb.dWLT, dv, at(g.W_U, d0 * dv), dv, true);
  gemm_tn(d1 - d0, dv, rows, at(tb.R, d0), dm, tb.dU, dv, at(g.W_U, d0 * dv), dv, true);
}

/**
 * Head h's share of the attention side of the backward through the tables, after
 * tables_backward_rows and table_grad_columns: dS_h from the d attn (score_grads), then
 * dR_{1+h} -> its columns of g.W_O and dVt; dS_h -> dQt, dKt; and its rows of g.W_Q, g.W_K,
 * g.W_V. Weight gradients are accumulated; those of frozen tensors (null in `g`) skipped.
 */
export function tables_backward_head(dims: Dims, w: Weights, g: Weights, tb: Tables, batch: FastBatch, h: i32): void {
  const dv = dims.d_vocab, dm = dims.d_model, dh = dims.d_head, hd = dims.n_heads * dh;
  const c = h * dh;
  score_grads(dims, tb, batch, h);
  // forward was: R_{1+h} = V_h W_O[:, h]ᵀ
  const dRh = at(tb.dR, (1 + h) * dv * dm);
  if (g.W_O) gemm_tn(dm, dh, dv, dRh, dm, at(tb.Vt, c), hd, at(g.W_O, c), hd, true);
  gemm_nn(dv, dh, dm, dRh, dm, at(w.W_O, c), hd, at(tb.dVt, c), hd, false);
  // forward was: S_h = Q_h K_hᵀ / sqrt(d_head)
  const dSh = at(tb.dS, h * dv * dv);
  divide(dSh, dv * dv, Mathf.sqrt(<f32>dh));
  gemm_nn(dv, dh, dv, dSh, dv, at(tb.Kt, c), hd, at(tb.dQt, c), hd, false);
  gemm_tn(dv, dh, dv, dSh, dv, at(tb.Qt, c), hd, at(tb.dKt, c), hd, false);
  // forward was: Qt = R_0 W_Qᵀ (same for K, V): head h's rows of each weight
  if (g.W_Q) gemm_tn(dh, dm, dv, at(tb.dQt, c), hd, tb.R, dm, at(g.W_Q, c * dm), dm, true);
  if (g.W_K) gemm_tn(dh, dm, dv, at(tb.dKt, c), hd, tb.R, dm, at(g.W_K, c * dm), dm, true);
  if (g.W_V) gemm_tn(dh, dm, dv, at(tb.dVt, c), hd, tb.R, dm, at(g.W_V, c * dm), dm, true);
}

/**
 * Part `part` of `parts` of the tokens, after every tables_backward_head: their rows of
 * dR_0 += dQt W_Q + dKt W_K + dVt W_V, and through R_0 = W_Eᵀ their columns of g.W_E.
 */
export function tables_backward_embedding(dims: Dims, w: Weights, g: Weights, tb: Tables, part: i32, parts: i32): void {
  if (!g.W_E) return;
  const dv = dims.d_vocab, dm = dims.d_model, hd = dims.n_heads * dims.d_head;
  const t0 = cut(dv, part, parts), t1 = cut(dv, part + 1, parts);
  const dR0 = at(tb.dR, t0 * dm);
  gemm_nn(t1 - t0, dm, hd, at(tb.dQt, t0 * hd), hd, w.W_Q, dm, dR0, dm, true);
  gemm_nn(t1 - t0, dm, hd, at(tb.dKt, t0 * hd), hd, w.W_K, dm, dR0, dm, true);
  gemm_nn(t1 - t0, dm, hd, at(tb.dVt, t0 * hd), hd, w.W_V, dm, dR0, dm, true);
  // g.W_E[:, t] += dR_0[t]
  for (let r = 0; r < dm; r++) for (let t = t0; t < t1; t++) accumulate(at(g.W_E, r * dv + t), load<f32>(at(tb.dR, t * dm + r)));
}

// The start of part `part` of `parts` nearly equal ranges of [0, n).
@inline function cut(n: i32, part: i32, parts: i32): i32 {
  return <i32>((<i64>part * n) / parts);
}

// ---- batch: per-example mixing of table rows ----

/** Attention pattern, post and logits of every example (tables must be current). */
export function batch_forward(dims: Dims, tb: Tables, batch: FastBatch): void {
  const dv = dims.d_vocab, H = dims.n_heads, dmlp = dims.d_mlp, ldp = mlp_stride(dmlp), n = batch.n;
  for (let b = 0; b < n; b++) {
    const tok = batch.tokens + (<usize>(b * CTX) << 2);
    const t0 = load<i32>(tok), t1 = load<i32>(tok, 4), t2 = load<i32>(tok, 8);
    const pat = at(batch.attn, b * H * CTX);
    for (let h = 0; h < H; h += 4) softmax3_heads(pat, tb.S, dv, h, min(4, H - h), t0, t1, t2);
    mix_rows(at(batch.post, b * ldp), tb.P, dmlp, ldp, dv, H, t0, t1, t2, pat, true); // pre, then post = relu(pre)
    mix_rows(at(batch.logits, b * dv), tb.U, dv, dv, dv, H, t0, t1, t2, pat, false);
  }
  gemm_nn_panels(n, dv, dmlp, batch.post, ldp, tb.WLTp, batch.logits, dv, true);
}

// out = T_0[t2] + sum_{h, i} a_hi T_{1+h}[t_i], rows of `width` floats `ld` apart, blocks of dv rows;
// with `relu`, max(out, 0). Two heads per pass over out, each head's three rows summed first
// and added in head order.
@inline function mix_rows(out: usize, table: usize, width: i32, ld: i32, dv: i32, H: i32, t0: i32, t1: i32, t2: i32, pat: usize, relu: bool): void {
  let src = at(table, t2 * ld);
  if (H == 0) {
    memory.copy(out, src, <usize>width << 2);
    if (relu) relu_forward(out, out, width);
    return;
  }
  for (let h = 0; h < H; h += 2) {
    const last = h + 2 >= H;
    if (h + 1 < H) mix_heads(true, relu && last, out, src, table, width, ld, dv, t0, t1, t2, at(pat, h * CTX), h);
    else mix_heads(false, relu, out, src, table, width, ld, dv, t0, t1, t2, at(pat, h * CTX), h);
    src = out;
  }
}

// out = src + (heads h and, when `two`, h + 1 of the mix), max(., 0) with `relu`. Every row is
// walked by a pointer of its own (V8 then adds nothing to an address a load uses), and the
// weights are splatted by loads (kept in vector registers, where splats of f32 locals were
// broadcast again on every pass of the loop).
@inline function mix_heads(two: bool, relu: bool, out: usize, src: usize, table: usize, width: i32, ld: i32, dv: i32, t0: i32, t1: i32, t2: i32, a: usize, h: i32): void {
  const rs = <usize>(dv * ld) << 2;
  let A0 = at(table, ((1 + h) * dv + t0) * ld), A1 = at(table, ((1 + h) * dv + t1) * ld), A2 = at(table, ((1 + h) * dv + t2) * ld);
  let B0 = A0 + rs, B1 = A1 + rs, B2 = A2 + rs;
  const va0 = v128.load32_splat(a), va1 = v128.load32_splat(a, 4), va2 = v128.load32_splat(a, 8);
  const zero = f32x4.splat(0);
  const vb0 = two ? v128.load32_splat(a, 12) : zero, vb1 = two ? v128.load32_splat(a, 16) : zero, vb2 = two ? v128.load32_splat(a, 20) : zero;
  let s = src, d = out;
  const end = out + (<usize>(width & ~3) << 2);
  while (d < end) {
    let v = f32x4.add(v128.load(s), f32x4.add(f32x4.add(f32x4.mul(va0, v128.load(A0)), f32x4.mul(va1, v128.load(A1))), f32x4.mul(va2, v128.load(A2))));
    if (two) v = f32x4.add(v, f32x4.add(f32x4.add(f32x4.mul(vb0, v128.load(B0)), f32x4.mul(vb1, v128.load(B1))), f32x4.mul(vb2, v128.load(B2))));
    if (relu) v = f32x4.pmax(v, zero); // v < 0 ? 0 : v, NaN stays (x86's maxps; f32x4.max, which also makes -0 into +0, takes several instructions)
    v128.store(d, v);
    s += 16; d += 16; A0 += 16; A1 += 16; A2 += 16; B0 += 16; B1 += 16; B2 += 16;
  }
  for (let j = width & ~3; j < width; j++) { // the last width % 4 floats
    const a0 = f32x4.extract_lane(va0, 0), a1 = f32x4.extract_lane(va1, 0), a2 = f32x4.extract_lane(va2, 0);
    const b0 = f32x4.extract_lane(vb0, 0), b1 = f32x4.extract_lane(vb1, 0), b2 = f32x4.extract_lane(vb2, 0);
    let v = load<f32>(s) + ((a0 * load<f32>(A0) + a1 * load<f32>(A1)) + a2 * load<f32>(A2));
    if (two) v = v + ((b0 * load<f32>(B0) + b1 * load<f32>(B1)) + b2 * load<f32>(B2));
    if (relu) v = max<f32>(v, 0);
    store<f32>(d, v);
    s += 4; d += 4; A0 += 4; A1 += 4; A2 += 4; B0 += 4; B1 += 4; B2 += 4;
  }
}

@inline function accumulate(p: usize, x: f32): void {
  store<f32>(p, load<f32>(p) + x);
}

// Heads h..h + count - 1 (count <= 4, one a lane) of an example's attention pattern: the
// softmax over its three keys of the query t2's scores, a_i = e^(s_i - max) / sum_j e^(s_j - max),
// the same floats as one head at a time with Mathf.exp (mathf_exp_f32x4).
@inline function softmax3_heads(pat: usize, S: usize, dv: i32, h: i32, count: i32, t0: i32, t1: i32, t2: i32): void {
  const s0 = head_scores(S, dv, h, count, t2, t0), s1 = head_scores(S, dv, h, count, t2, t1), s2 = head_scores(S, dv, h, count, t2, t2);
  const mx = f32x4.max(f32x4.max(s0, s1), s2);
  const e0 = mathf_exp_f32x4(f32x4.sub(s0, mx)), e1 = mathf_exp_f32x4(f32x4.sub(s1, mx)), e2 = mathf_exp_f32x4(f32x4.sub(s2, mx));
  const sum = f32x4.add(f32x4.add(e0, e1), e2);
  const a0 = f32x4.div(e0, sum), a1 = f32x4.div(e1, sum), a2 = f32x4.div(e2, sum);
  const p = at(pat, h * CTX); // head h + k's three weights: lane k of a0, a1, a2
  store<f32>(p, f32x4.extract_lane(a0, 0)); store<f32>(p, f32x4.extract_lane(a1, 0), 4); store<f32>(p, f32x4.extract_lane(a2, 0), 8);
  if (count > 1) { store<f32>(p, f32x4.extract_lane(a0, 1), 12); store<f32>(p, f32x4.extract_lane(a1, 1), 16); store<f32>(p, f32x4.extract_lane(a2, 1), 20); }
  if (count > 2) { store<f32>(p, f32x4.extract_lane(a0, 2), 24); store<f32>(p, f32x4.extract_lane(a1, 2), 28); store<f32>(p, f32x4.extract_lane(a2, 2), 32); }
  if (count > 3) { store<f32>(p, f32x4.extract_lane(a0, 3), 36); store<f32>(p, f32x4.extract_lane(a1, 3), 40); store<f32>(p, f32x4.extract_lane(a2, 3), 44); }
}

// S[h + k][u][t] in lane k < count (0 in the others).
@inline function head_scores(S: usize, dv: i32, h: i32, count: i32, u: i32, t: i32): v128 {
  const heads = <usize>(dv * dv) << 2, p = at(S, (h * dv + u) * dv + t);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + heads));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * heads));
  if (count > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * heads));
  return v;
}

// ---- small helpers ----

// dst[c, r] = src[r, c] for r < rows, c < cols (row strides ldd and lds): 4 x 4 blocks
// turned by lane shuffles, the edges one float at a time.
function transpose(dst: usize, ldd: i32, src: usize, lds: i32, rows: i32, cols: i32): void {
  const r4 = rows & ~3, c4 = cols & ~3, ls = <usize>lds << 2, ld = <usize>ldd << 2;
  for (let r = 0; r < r4; r += 4) {
    for (let c = 0; c < c4; c += 4) {
      const s = at(src, r * lds + c), d = at(dst, c * ldd + r);
      const x0 = v128.load(s), x1 = v128.load(s + ls), x2 = v128.load(s + 2 * ls), x3 = v128.load(s + 3 * ls);
      const lo01 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), lo23 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
      const hi01 = i32x4.shuffle(x0, x1, 2, 6, 3, 7), hi23 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
      v128.store(d, i32x4.shuffle(lo01, lo23, 0, 1, 4, 5));
      v128.store(d + ld, i32x4.shuffle(lo01, lo23, 2, 3, 6, 7));
      v128.store(d + 2 * ld, i32x4.shuffle(hi01, hi23, 0, 1, 4, 5));
      v128.store(d + 3 * ld, i32x4.shuffle(hi01, hi23, 2, 3, 6, 7));
    }
    for (let c = c4; c < cols; c++) for (let i = r; i < r + 4; i++) store<f32>(at(dst, c * ldd + i), load<f32>(at(src, i * lds + c)));
  }
  for (let r = r4; r < rows; r++) for (let c = 0; c < cols; c++) store<f32>(at(dst, c * ldd + r), load<f32>(at(src, r * lds + c)));
}

function divide(p: usize, n: i32, d: f32): void {
  for (let i = 0; i < n; i++) store<f32>(at(p, i), load<f32>(at(p, i)) / d);
}

// ---- shards: the unit of work of one worker (one call each) ----

/**
 * One shard of a training step: forward, the loss (gradient scaled for a mean over
 * `denominator` examples) and backward as far as d pre (in batch.dpost) and d attn (in
 * batch.da, each dot summed over `parts` column ranges of P and the first `u_parts` of U, see
 * attention_grads), all in the shard's own rows. Writes each example's loss (f64) to
 * batch.losses and the number of correct predictions (i32) at `correct`.
 */
export function shard_loss_and_grad(dims: Dims, tb: Tables, batch: FastBatch, denominator: f64, correct: usize, cuts: usize, parts: i32, u_parts: i32): void {
  const dv = dims.d_vocab, dmlp = dims.d_mlp, n = batch.n;
  batch_forward(dims, tb, batch);
  cross_entropies(batch.logits, batch.labels, n, dv, batch.dlogits, denominator, batch.losses);
  store<i32>(correct, count_correct(batch.logits, batch.labels, n, dv));
  // forward was: logits += post WLT, post = relu(pre); pre > 0 exactly where post > 0
  gemm_nn_panels_gated(n, dmlp, dv, batch.dlogits, dv, tb.WLp, batch.dpost, mlp_stride(dmlp), batch.post);
  // A of dWLTᵀ = dlogitsᵀ post, a product over the whole batch (after the shards), laid out
  // while dlogits is in cache
  transpose(batch.dlogitsT, batch.panel_rows, batch.dlogits, dv, n, dv);
  attention_grads(dims, tb, batch, cuts, parts, u_parts);
  gather_weights(dims, batch);
}

// Each (example, position)'s attention weights, every head's together, into its slot of the
// gather order: what table_grad_columns multiplies each row of d pre and d logits by, read
// there one pair after another.
function gather_weights(dims: Dims, batch: FastBatch): void {
  const H = dims.n_heads;
  for (let b = 0; b < batch.n; b++) {
    for (let i = 0; i < CTX; i++) {
      const w = at(batch.gather_weights, load<i32>(at(batch.gather_slots, b * CTX + i)) * H);
      for (let h = 0; h < H; h++) store<f32>(at(w, h), load<f32>(at(batch.attn, (b * H + h) * CTX + i)));
    }
  }
}

/**
 * d attn of every example, from its rows of d pre and d logits while they are in cache.
 * Forward was pre = P_0[t2] + sum_{h,i} a_hi P_{1+h}[t_i] (logits likewise with U), so
 * d a_hi = P_{1+h}[t_i].d pre + U_{1+h}[t_i].d logits. Each dot is summed over `parts` column
 * ranges of P, the first `u_parts` of them with one of U's added, and the ranges' dots are
 * added in order. `cuts` holds the ranges' bounds (i32): the parts + 1 of P's columns, then
 * the u_parts + 1 of U's (the column ranges the table gradients were once cut into: the
 * order these sums have kept).
 */
function attention_grads(dims: Dims, tb: Tables, batch: FastBatch, cuts: usize, parts: i32, u_parts: i32): void {
  const n = batch.n;
  let b = 0;
  // Two examples at a time: where they have the same token at a position (a batch in token
  // order mostly does at the first two), one pass over its table rows serves both.
  for (; b + 1 < n; b += 2) {
    for (let i = 0; i < CTX; i++) {
      const t = load<i32>(at(batch.tokens, b * CTX + i)), t1 = load<i32>(at(batch.tokens, (b + 1) * CTX + i));
      if (t1 == t) example_dots(true, dims, tb, batch, cuts, parts, u_parts, b, i, t);
      else {
        example_dots(false, dims, tb, batch, cuts, parts, u_parts, b, i, t);
        example_dots(false, dims, tb, batch, cuts, parts, u_parts, b + 1, i, t1);
      }
    }
  }
  for (; b < n; b++) for (let i = 0; i < CTX; i++) example_dots(false, dims, tb, batch, cuts, parts, u_parts, b, i, load<i32>(at(batch.tokens, b * CTX + i)));
}

// d attn at position i (token t) of example b, or with `pair` of examples b and b + 1 (both
// with token t there): every head's dot, four heads a pass, or two heads of both examples.
@inline function example_dots(pair: bool, dims: Dims, tb: Tables, batch: FastBatch, cuts: usize, parts: i32, u_parts: i32, b: i32, i: i32, t: i32): void {
  const dv = dims.d_vocab, H = dims.n_heads, ldp = mlp_stride(dims.d_mlp);
  const headsP = <usize>(dv * ldp) << 2, headsU = <usize>(dv * dv) << 2; // bytes from one head's table to the next
  const dpre = at(batch.dpost, b * ldp), dlog = at(batch.dlogits, b * dv);
  const step = pair ? 2 : 4;
  for (let h = 0; h < H; h += step) {
    const P = at(tb.P, ((1 + h) * dv + t) * ldp), U = at(tb.U, ((1 + h) * dv + t) * dv);
    let da = f32x4.splat(0);
    for (let part = 0; part < parts; part++) {
      const c0 = load<i32>(at(cuts, part)), c1 = load<i32>(at(cuts, part + 1));
      let d = pair ? pair_dots(P, h + 1 < H ? P + headsP : P, dpre, at(dpre, ldp), c0, c1) : range_dots(P, headsP, H - h, dpre, c0, c1);
      if (part < u_parts) {
        const u0 = load<i32>(at(cuts, parts + 1 + part)), u1 = load<i32>(at(cuts, parts + 2 + part));
        if (u1 > u0) d = f32x4.add(d, pair ? pair_dots(U, h + 1 < H ? U + headsU : U, dlog, at(dlog, dv), u0, u1) : range_dots(U, headsU, H - h, dlog, u0, u1));
      }
      da = f32x4.add(da, d);
    }
    const out = at(batch.da, (b * H + h) * CTX + i); // lanes: heads h.. of example b, or h, h + 1 of b then of b + 1
    store<f32>(out, f32x4.extract_lane(da, 0));
    if (h + 1 < H) store<f32>(out, f32x4.extract_lane(da, 1), 12);
    if (pair) {
      const next = at(out, H * CTX);
      store<f32>(next, f32x4.extract_lane(da, 2));
      if (h + 1 < H) store<f32>(next, f32x4.extract_lane(da, 3), 12);
    } else {
      if (h + 2 < H) store<f32>(out, f32x4.extract_lane(da, 2), 24);
      if (h + 3 < H) store<f32>(out, f32x4.extract_lane(da, 3), 36);
    }
  }
}

// The dots of up to four heads' rows (T, then `heads` bytes apart; with fewer than four left,
// the first row again in the missing heads' lanes) with `up` over columns [c0, c1), as
// lane_dots sums them.
@inline function range_dots(T: usize, heads: usize, left: i32, up: usize, c0: i32, c1: i32): v128 {
  const TB = left > 1 ? T + heads : T, TC = left > 2 ? T + 2 * heads : T, TD = left > 3 ? T + 3 * heads : T;
  return lane_dots(T, TB, TC, TD, up, up, up, up, c0, c1);
}

// [TA.u, TB.u, TA.v, TB.v] over columns [c0, c1): two rows against two examples' rows, as
// lane_dots sums them (8 loads for 32 products, where four rows against one take 10).
@inline function pair_dots(TA: usize, TB: usize, u: usize, v: usize, c0: i32, c1: i32): v128 {
  return lane_dots(TA, TB, TA, TB, u, u, v, v, c0, c1);
}

// [R0.U0, R1.U1, R2.U2, R3.U3] over columns [c0, c1) (the same row given twice is loaded once).
// Each sums the even and the odd vectors of each 8 columns (two chains of dependent adds, not
// one), then a lone vector, its lanes ((x0 + x1) + (x2 + x3)), and the last columns one by one.
@inline function lane_dots(R0: usize, R1: usize, R2: usize, R3: usize, U0: usize, U1: usize, U2: usize, U3: usize, c0: i32, c1: i32): v128 {
  let a0 = f32x4.splat(0), a1 = a0, b0 = a0, b1 = a0, c0v = a0, c1v = a0, d0 = a0, d1 = a0;
  let j = c0;
  for (; j + 8 <= c1; j += 8) {
    const o = <usize>j << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(R0 + o), v128.load(U0 + o))); a1 = f32x4.add(a1, f32x4.mul(v128.load(R0 + o, 16), v128.load(U0 + o, 16)));
    b0 = f32x4.add(b0, f32x4.mul(v128.load(R1 + o), v128.load(U1 + o))); b1 = f32x4.add(b1, f32x4.mul(v128.load(R1 + o, 16), v128.load(U1 + o, 16)));
    c0v = f32x4.add(c0v, f32x4.mul(v128.load(R2 + o), v128.load(U2 + o))); c1v = f32x4.add(c1v, f32x4.mul(v128.load(R2 + o, 16), v128.load(U2 + o, 16)));
    d0 = f32x4.add(d0, f32x4.mul(v128.load(R3 + o), v128.load(U3 + o))); d1 = f32x4.add(d1, f32x4.mul(v128.load(R3 + o, 16), v128.load(U3 + o, 16)));
  }
  if (j + 4 <= c1) {
    const o = <usize>j << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(R0 + o), v128.load(U0 + o)));
    b0 = f32x4.add(b0, f32x4.mul(v128.load(R1 + o), v128.load(U1 + o)));
    c0v = f32x4.add(c0v, f32x4.mul(v128.load(R2 + o), v128.load(U2 + o)));
    d0 = f32x4.add(d0, f32x4.mul(v128.load(R3 + o), v128.load(U3 + o)));
    j += 4;
  }
  let dots = hsum4(f32x4.add(a0, a1), f32x4.add(b0, b1), f32x4.add(c0v, c1v), f32x4.add(d0, d1));
  for (; j < c1; j++) {
    const o = <usize>j << 2;
    const x = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(R0 + o)), 1, load<f32>(R1 + o)), 2, load<f32>(R2 + o)), 3, load<f32>(R3 + o));
    const w = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(U0 + o)), 1, load<f32>(U1 + o)), 2, load<f32>(U2 + o)), 3, load<f32>(U3 + o));
    dots = f32x4.add(dots, f32x4.mul(x, w));
  }
  return dots;
}

// [hsum(a), hsum(b), hsum(c), hsum(d)] with gemm.ts's hsum: the lanes of the four turned
// into columns by shuffles, then added in hsum's order, (x0 + x1) + (x2 + x3).
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5), ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5), cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  const x0 = i32x4.shuffle(ab01, cd01, 0, 1, 4, 5), x1 = i32x4.shuffle(ab01, cd01, 2, 3, 6, 7);
  const x2 = i32x4.shuffle(ab23, cd23, 0, 1, 4, 5), x3 = i32x4.shuffle(ab23, cd23, 2, 3, 6, 7);
  return f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3));
}

/** One shard of an evaluation: forward and loss; results as in shard_loss_and_grad. */
export function shard_evaluate(dims: Dims, tb: Tables, batch: FastBatch, correct: usize): void {
  batch_forward(dims, tb, batch);
  cross_entropies(batch.logits, batch.labels, batch.n, dims.d_vocab, 0, 1, batch.losses);
  store<i32>(correct, count_correct(batch.logits, batch.labels, batch.n, dims.d_vocab));
}

// ---- table gradients: each entry summed over the whole batch, in example order ----

/**
 * Rows [n0, n1) of dWLT = postᵀ dlogits (forward was logits += post WLT), as columns of its
 * transpose dlogitsᵀ post: A, dlogits transposed, has contiguous rows, and B is post as it is,
 * so nothing is packed. Each entry sums the same products in the same order as a product
 * into dWLT itself (post[k, n] dlogits[k, v] over k in blocks); the block is turned into
 * dWLT's rows through `scratch`, dv * (n1 - n0) floats of this call's own rounded up to 4
 * rows: A's rows past dv (zeros) make the last tile whole, where one row at a time would cost
 * a whole tile's arithmetic per row.
 */
export function neuron_logit_grads(dims: Dims, tb: Tables, batch: FastBatch, n0: i32, n1: i32, scratch: usize): void {
  const dv = dims.d_vocab, dmlp = dims.d_mlp, n = batch.n;
  gemm_nn((dv + 3) & ~3, n1 - n0, n, batch.dlogitsT, n, at(batch.post, n0), mlp_stride(dmlp), scratch, n1 - n0, false);
  transpose(at(tb.dWLT, n0 * dv), dv, scratch, n1 - n0, dv, n1 - n0);
}

/**
 * Columns [p0, p1) of dP and [u0, u1) of dU. Forward was
 *   pre = P_0[t2] + sum_{h,i} a_hi P_{1+h}[t_i]   (logits likewise with U),
 * so dP_{1+h}[t] = sum over the (example, position i) with t_i = t of a_hi d pre, and dP_0[t]
 * the same over position 2 with weight 1. The (example, position) pairs come in
 * batch.gather_order: grouped by token, in batch order within a token. So a token's rows of dP
 * are a small product (its pairs' attention weights times their rows of d pre), summed in
 * registers a few columns at a time, in batch order.
 */
export function table_grad_columns(dims: Dims, tb: Tables, batch: FastBatch, p0: i32, p1: i32, u0: i32, u1: i32): void {
  const dv = dims.d_vocab, dmlp = dims.d_mlp, n = batch.n, pairs = n * CTX;
  let s = 0, ls = 0;
  for (let t = 0; t < dv; t++) {
    let e = s, le = ls;
    while (e < pairs && pair_token(batch, e) == t) e++;
    while (le < n && last_token(batch, le) == t) le++;
    token_grads(dims, batch, tb.dP, mlp_stride(dmlp), batch.dpost, t, s, e, ls, le, p0, p1);
    if (u1 > u0) token_grads(dims, batch, tb.dU, dv, batch.dlogits, t, s, e, ls, le, u0, u1);
    s = e;
    ls = le;
  }
}

// The token of pair j of the gather order.
@inline function pair_token(batch: FastBatch, j: i32): i32 {
  const item = load<i32>(at(batch.gather_order, j));
  return load<i32>(at(batch.tokens, (item >> 2) * CTX + (item & 3)));
}

// The last token of example k of the last-token order.
@inline function last_token(batch: FastBatch, k: i32): i32 {
  return load<i32>(at(batch.tokens, load<i32>(at(batch.last_order, k)) * CTX + CTX - 1));
}

// Token t's rows of one table's gradient (dT = dP or dU; its rows and those of `up`, d pre or
// d logits, `width` floats apart) over columns [c0, c1), from pairs [s, e) of the gather
// order (dT_{1+h}[t]) and examples [ls, le) of the last-token order (dT_0[t]).
function token_grads(dims: Dims, batch: FastBatch, dT: usize, width: i32, up: usize, t: i32, s: i32, e: i32, ls: i32, le: i32, c0: i32, c1: i32): void {
  const dv = dims.d_vocab, H = dims.n_heads, pairs = batch.n * CTX;
  const heads = <usize>(dv * width) << 2; // bytes from one head's table to the next
  for (let j = s; j < e; j++) {
    if (j + GATHER_AHEAD < pairs) touch(at(up, (load<i32>(at(batch.gather_order, j + GATHER_AHEAD)) >> 2) * width), c0, c1);
  }
  for (let h = 0; h < H; h += 4) {
    const dTh = at(dT, ((1 + h) * dv + t) * width);
    const count = min(4, H - h);
    if (count == 4) head_sums(4, batch, H, h, dTh, heads, up, width, s, e, c0, c1);
    else if (count == 3) head_sums(3, batch, H, h, dTh, heads, up, width, s, e, c0, c1);
    else if (count == 2) head_sums(2, batch, H, h, dTh, heads, up, width, s, e, c0, c1);
    else head_sums(1, batch, H, h, dTh, heads, up, width, s, e, c0, c1);
  }
  last_position_sum(batch, at(dT, t * width), up, width, ls, le, c0, c1);
}

// How many pairs ahead token_grads touches the rows it will read.
const GATHER_AHEAD = 8;

// Loads one float of every cache line of row[c0, c1), for nothing but to bring the lines in:
// WebAssembly has no prefetch instruction, and the rows of d pre and d logits a gather reads
// next come from memory, in an order no hardware prefetcher follows. Touched before a token's
// products, their misses overlap each other. (A load may trap, so no optimiser removes one
// whose value goes unused.)
@inline function touch(row: usize, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c += 16) load<f32>(at(row, c));
}

// dT_{1+h+k}[t] = sum over pairs [s, e) of a_{h+k, i} up_b, for k < count (1 to 4; the rows
// `heads` bytes apart from dT), columns [c0, c1): 8 columns of every head at a time in
// registers, the terms added in pair order (batch order). A last panel of fewer than 8
// columns reads past c1 (within the row's or the buffer's slack) and stores only its own.
@inline function head_sums(count: i32, batch: FastBatch, H: i32, h: i32, dT: usize, heads: usize, up: usize, width: i32, s: i32, e: i32, c0: i32, c1: i32): void {
  for (let j = c0; j < c1; j += 8) {
    const zero = f32x4.splat(0);
    let a0 = zero, a1 = zero, b0 = zero, b1 = zero, c0v = zero, c1v = zero, d0 = zero, d1 = zero;
    const o = <usize>j << 2;
    let a = at(batch.gather_weights, s * H + h);
    for (let k = s; k < e; k++) {
      const u = at(up, (load<i32>(at(batch.gather_order, k)) >> 2) * width) + o;
      const u0 = v128.load(u), u1 = v128.load(u, 16);
      const wa = v128.load32_splat(a);
      a0 = f32x4.add(a0, f32x4.mul(wa, u0)); a1 = f32x4.add(a1, f32x4.mul(wa, u1));
      if (count > 1) { const w = v128.load32_splat(a, 4); b0 = f32x4.add(b0, f32x4.mul(w, u0)); b1 = f32x4.add(b1, f32x4.mul(w, u1)); }
      if (count > 2) { const w = v128.load32_splat(a, 8); c0v = f32x4.add(c0v, f32x4.mul(w, u0)); c1v = f32x4.add(c1v, f32x4.mul(w, u1)); }
      if (count > 3) { const w = v128.load32_splat(a, 12); d0 = f32x4.add(d0, f32x4.mul(w, u0)); d1 = f32x4.add(d1, f32x4.mul(w, u1)); }
      a += <usize>H << 2;
    }
    const cols = min(8, c1 - j);
    store_row(dT + o, a0, a1, cols);
    if (count > 1) store_row(dT + heads + o, b0, b1, cols);
    if (count > 2) store_row(dT + 2 * heads + o, c0v, c1v, cols);
    if (count > 3) store_row(dT + 3 * heads + o, d0, d1, cols);
  }
}

// dT_0[t] = sum of up_b over examples [ls, le) of the last-token order (those whose last token
// is t), columns [c0, c1), in batch order (8 columns at a time, as head_sums); 0 without any.
function last_position_sum(batch: FastBatch, dT0: usize, up: usize, width: i32, ls: i32, le: i32, c0: i32, c1: i32): void {
  const order = at(batch.last_order, ls), end = at(batch.last_order, le), row = <usize>width << 2;
  for (let j = c0; j < c1; j += 8) {
    const o = <usize>j << 2;
    let a0 = f32x4.splat(0), a1 = a0;
    for (let k = order; k < end; k += 4) {
      const u = up + <usize>load<i32>(k) * row + o;
      a0 = f32x4.add(a0, v128.load(u)); a1 = f32x4.add(a1, v128.load(u, 16));
    }
    store_row(dT0 + o, a0, a1, min(8, c1 - j));
  }
}

/**
 * dS_h from the d attn of the shards: forward was a_h = softmax_i(s_hi), s_hi = S[h][t2][t_i],
 * so ds_i = a_i (da_i - sum_j a_j da_j).
 */
function score_grads(dims: Dims, tb: Tables, batch: FastBatch, h: i32): void {
  const dv = dims.d_vocab, H = dims.n_heads, n = batch.n;
  const dS = at(tb.dS, h * dv * dv);
  memory.fill(dS, 0, <usize>(dv * dv) << 2);
  for (let b = 0; b < n; b++) {
    const tok = batch.tokens + (<usize>(b * CTX) << 2);
    const t0 = load<i32>(tok), t1 = load<i32>(tok, 4), t2 = load<i32>(tok, 8);
    const k = (b * H + h) * CTX;
    const a = at(batch.attn, k);
    const a0 = load<f32>(a), a1 = load<f32>(a, 4), a2 = load<f32>(a, 8);
    const d = at(batch.da, k);
    const da0 = load<f32>(d), da1 = load<f32>(d, 4), da2 = load<f32>(d, 8);
    const mean = a0 * da0 + a1 * da1 + a2 * da2;
    const dSrow = at(dS, t2 * dv);
    accumulate(at(dSrow, t0), a0 * (da0 - mean));
    accumulate(at(dSrow, t1), a1 * (da1 - mean));
    accumulate(at(dSrow, t2), a2 * (da2 - mean));
  }
}
