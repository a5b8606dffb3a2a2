// The arithmetic of one fast training step, phase by phase, counted from the kernels in
// assembly/fast.ts (a multiply-add is 2 FLOP): the products (GEMMs) and the per-example mixes
// and gathers. Divided by the calibrated WASM SIMD peak it is the floor a phase cannot beat
// without another arithmetic (docs/wasm.md).

import { CONTEXT } from "../src/core/data/data.js";
import type { Dims } from "../src/core/model/params.js";

export interface PhaseFlops {
  /** In matrix products. */
  products: number;
  /** In the per-example mixes of table rows and their gathers (SIMD, but memory-bound). */
  mixes: number;
}

/** The FLOP of each phase of FastPath's step, by phase name, for a batch of n examples. */
export function fastStepFlops(d: Dims, n: number): Record<string, PhaseFlops> {
  const { d_vocab: dv, d_model: dm, n_heads: H, d_head: dh, d_mlp: dmlp } = d;
  const hd = H * dh, rows = (1 + H) * dv, width = dmlp + dv;
  const mm = (m: number, k: number, p: number): number => 2 * m * k * p;
  return {
    "tables forward: attention heads, W_outᵀ W_U": { products: 3 * mm(dv, hd, dm) + H * (mm(dv, dv, dh) + mm(dv, dm, dh)) + mm(dmlp, dv, dm), mixes: 0 },
    "tables forward: P, U": { products: mm(rows, dmlp, dm) + mm(rows, dv, dm), mixes: 0 },
    // per example: pre and logits mixed from 1 + 3H rows; logits += post WLT; dpost = dlogits WL;
    // d attn, a dot of d pre and d logits with each of the 3H rows
    "shards: forward, loss, d pre, d attn": { products: 2 * mm(n, dmlp, dv), mixes: n * 4 * CONTEXT * H * width },
    // per example and position, every head: an axpy into dP and dU's columns; dWLT = postᵀ dlogits
    "table gradients: dP, dU, dWLT": { products: mm(dmlp, dv, n), mixes: n * (2 * CONTEXT * H + 1) * width },
    "tables backward: MLP side": { products: mm(rows, dm, dv) + mm(rows, dm, dmlp) + mm(dmlp, dm, rows) + 2 * mm(dm, dmlp, dv) + mm(dm, dv, rows), mixes: 0 },
    "tables backward: attention heads": { products: H * (2 * mm(dm, dh, dv) + 2 * mm(dv, dh, dv)) + 3 * mm(hd, dm, dv), mixes: 0 },
    "tables backward: embedding": { products: 3 * mm(dv, dm, hd), mixes: 0 },
  };
}
