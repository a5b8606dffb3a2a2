// The reference path: the literal model (docs/model.md) over a batch (assembly/model.ts),
// every activation of the last position kept. The oracle the fast path is tested against.

import { CONTEXT, type Split } from "../data/data.js";
import type { AdamWConfig, Batch, LossAndAccuracy, Model, Path } from "./model.js";
import type { Dims } from "./params.js";

export class ReferencePath implements Path {
  constructor(readonly model: Model) {}

  async update(opt: AdamWConfig, t: number): Promise<void> {
    this.model.adamwStep(opt, t);
  }

  newBatch(split: Split, backward: boolean): Batch {
    const { n } = split;
    return this.model.layBatch(split, ReferencePath.batchFloats(this.model.dims, n, backward), (tokens, labels, fields) =>
      this.model.engine.struct("Batch", { n, tokens, labels, ...fields }));
  }

  /** The floats of each activation (and, with `backward`, its gradient) of a batch of n examples. */
  static batchFloats(dims: Dims, n: number, backward: boolean) {
    const { d_vocab: dv, d_model: dm, n_heads: h, d_head: dh, d_mlp: dmlp } = dims;
    const hd = h * dh;
    const g = backward ? 1 : 0;
    return {
      x: n * CONTEXT * dm, q: n * hd, k: n * CONTEXT * hd, v: n * CONTEXT * hd, attn: n * h * CONTEXT, z: n * hd,
      resid_mid: n * dm, pre: n * dmlp, post: n * dmlp, resid_post: n * dm, logits: n * dv,
      dlogits: g * n * dv, dresid_post: g * n * dm, dpost: g * n * dmlp, dresid_mid: g * n * dm,
      dz: g * n * hd, dq: g * n * hd, dk: g * n * CONTEXT * hd, dv: g * n * CONTEXT * hd, dx: g * n * CONTEXT * dm,
    };
  }

  forward(batch: Batch): void {
    const m = this.model;
    m.engine.k.model_forward(m.dimsTable.ptr, m.paramsTable.ptr, batch.table.ptr);
  }

  async evaluate(batch: Batch): Promise<LossAndAccuracy[]> {
    this.forward(batch);
    return this.model.lossOf(batch, false);
  }

  async lossAndGrad(batch: Batch): Promise<LossAndAccuracy[]> {
    const m = this.model;
    this.forward(batch);
    const result = m.lossOf(batch, true);
    m.engine.k.model_backward(m.dimsTable.ptr, m.paramsTable.ptr, m.gradsTable.ptr, batch.table.ptr);
    return result;
  }
}
