// The fast path (assembly/fast.ts): the same model and gradients through per-token tables
// built once per step, so per-example work shrinks to the attention mix and the MLP.

import type { Split } from "./data.js";
import { CONTEXT } from "./data.js";
import type { Batch, LossAndAccuracy, Model, Path } from "./model.js";

export class FastPath implements Path {
  /** The Tables pointer table of assembly/fast.ts. */
  readonly tables: number;
  private readonly gradTables: number[];

  constructor(readonly model: Model) {
    const { engine, dims } = model;
    const { d_vocab: dv, d_model: dm, n_heads: h, d_head: dh, d_mlp: dmlp } = dims;
    // Field order = class Tables in assembly/fast.ts: Qt Kt Vt S R P U WLT, (WL), and their gradients.
    const sizes = [dv * h * dh, dv * h * dh, dv * h * dh, h * dv * dv, (1 + h) * dv * dm, (1 + h) * dv * dmlp, (1 + h) * dv * dv, dmlp * dv];
    const forward = [...sizes, dv * dmlp].map((s) => engine.allocF32(s));
    const backward = sizes.map((s) => engine.allocF32(s));
    this.gradTables = backward.map((ptr, i) => [ptr, sizes[i]!]).flat();
    this.tables = engine.table([...forward, ...backward], engine.k.fast_table_bytes(0));
  }

  newBatch(split: Split, backward: boolean): Batch {
    const { n } = split;
    const { d_vocab: dv, n_heads: h, d_mlp: dmlp } = this.model.dims;
    const g = backward ? 1 : 0;
    // Field order = class FastBatch in assembly/fast.ts (after n, tokens, labels).
    return this.model.layBatch(split, [
      ["attn", n * h * CONTEXT], ["pre", n * dmlp], ["post", n * dmlp], ["logits", n * dv],
      ["dlogits", g * n * dv], ["dpost", g * n * dmlp],
    ], this.model.engine.k.fast_table_bytes(1));
  }

  /** Tables from the current weights, then the batch's forward pass. */
  forward(batch: Batch): void {
    const m = this.model;
    m.engine.k.tables_forward(m.dimsTable, m.paramsTable, this.tables);
    m.engine.k.batch_forward(m.dimsTable, this.tables, batch.table);
  }

  evaluate(batch: Batch): LossAndAccuracy {
    this.forward(batch);
    return this.model.lossOf(batch, false);
  }

  lossAndGrad(batch: Batch): LossAndAccuracy {
    const m = this.model;
    const { k } = m.engine;
    this.forward(batch);
    const result = m.lossOf(batch, true);
    for (let i = 0; i < this.gradTables.length; i += 2) m.engine.f32(this.gradTables[i]!, this.gradTables[i + 1]!).fill(0);
    k.batch_backward(m.dimsTable, this.tables, batch.table);
    k.tables_backward(m.dimsTable, m.paramsTable, m.gradsTable, this.tables);
    return result;
  }
}
