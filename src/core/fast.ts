// The fast path (assembly/fast.ts): the same model and gradients through per-token tables
// built once per step, so per-example work shrinks to the attention mix and the MLP.
//
// A batch is cut into at most MAX_SHARDS shards, a function of the batch size alone. Each
// shard runs forward, loss and backward into gradient partials of its own; the partials are
// then added up in shard order. The arithmetic is therefore the same with 1 worker or 8.

import { CONTEXT, type Split } from "./data.js";
import { call, deal, LocalExecutor, ranges, type Executor, type KernelCall } from "./executor.js";
import { Batch, type LossAndAccuracy, type Model, type Path, type Shard } from "./model.js";

/** Shards per batch (so at most this many workers can share a step). */
export const MAX_SHARDS = 8;

// Field order of class Tables in assembly/fast.ts.
const TABLES = ["Qt", "Kt", "Vt", "S", "R", "P", "U", "WLT", "WL"] as const;
const GRADS = ["dQt", "dKt", "dVt", "dS", "dR", "dP", "dU", "dWLT"] as const;
/** The table gradients a shard's backward writes (the rest are per step, in tables_backward). */
const SHARD_GRADS = ["dS", "dP", "dU", "dWLT"] as const;

export class FastPath implements Path {
  /** The step's Tables pointer table (forward tables and the summed gradients). */
  readonly tables: number;
  /** One Tables pointer table per shard: the same forward tables, its own gradient partials. */
  private readonly shardTables: number[];
  private readonly sizes: Record<string, number>;
  private readonly ptrs: Record<string, number> = {};
  private readonly partials: Record<string, number> = {};

  constructor(readonly model: Model, readonly executor: Executor = new LocalExecutor(model.engine)) {
    const { engine, dims } = model;
    const { d_vocab: dv, d_model: dm, n_heads: h, d_head: dh, d_mlp: dmlp } = dims;
    const hd = h * dh;
    this.sizes = {
      Qt: dv * hd, Kt: dv * hd, Vt: dv * hd, S: h * dv * dv, R: (1 + h) * dv * dm,
      P: (1 + h) * dv * dmlp, U: (1 + h) * dv * dv, WLT: dmlp * dv, WL: dv * dmlp,
    };
    for (const name of TABLES) this.ptrs[name] = engine.allocF32(this.sizes[name]!);
    for (const name of GRADS) this.ptrs[name] = engine.allocF32(this.sizes[name.slice(1)]!);
    for (const name of SHARD_GRADS) this.partials[name] = engine.allocF32(MAX_SHARDS * this.sizes[name.slice(1)]!);
    const bytes = engine.k.fast_table_bytes(0);
    this.tables = engine.table([...TABLES, ...GRADS].map((n) => this.ptrs[n]!), bytes);
    this.shardTables = Array.from({ length: MAX_SHARDS }, (_, s) => engine.table([...TABLES, ...GRADS].map((n) =>
      (SHARD_GRADS as readonly string[]).includes(n) ? this.partials[n]! + 4 * s * this.sizes[n.slice(1)]! : this.ptrs[n]!), bytes));
  }

  newBatch(split: Split, backward: boolean): Batch {
    const { n } = split;
    const { d_vocab: dv, n_heads: h, d_mlp: dmlp } = this.model.dims;
    const g = backward ? 1 : 0;
    const engine = this.model.engine;
    // Field order = class FastBatch in assembly/fast.ts (after n, tokens, labels), with the
    // number of floats per example.
    const perRow: [string, number][] = [["attn", h * CONTEXT], ["pre", dmlp], ["post", dmlp], ["logits", dv], ["dlogits", g * dv], ["dpost", g * dmlp]];
    const batch = this.model.layBatch(split, perRow.map(([name, w]) => [name, n * w] as const), engine.k.fast_table_bytes(1));
    // Each shard's table points at its rows of every per-example buffer.
    const shards: Shard[] = ranges(n, Math.min(MAX_SHARDS, n)).map(([lo, hi]) => {
      const at = (name: string, width: number): number => (batch.ptrs[name] ? batch.ptrs[name]! + 4 * lo * width : 0);
      const table = engine.table([hi - lo, at("tokens", CONTEXT), at("labels", 1), ...perRow.map(([name, w]) => at(name, w))], engine.k.fast_table_bytes(1));
      return { n: hi - lo, table, result: engine.alloc(16) };
    });
    return new Batch(n, batch.table, batch.ptrs, shards);
  }

  /** Tables from the current weights (one thread: it is a few small products). */
  private buildTables(): void {
    const m = this.model;
    m.engine.k.tables_forward(m.dimsTable, m.paramsTable, this.tables);
  }

  /** Tables, then the forward pass of every shard (no loss). */
  async forward(batch: Batch): Promise<void> {
    this.buildTables();
    await this.runAll(this.shardCalls(batch, (s, tables) => ["batch_forward", this.model.dimsTable, tables, s.table]));
  }

  async evaluate(batch: Batch): Promise<LossAndAccuracy> {
    this.buildTables();
    await this.runAll(this.shardCalls(batch, (s, tables) => ["shard_evaluate", this.model.dimsTable, tables, s.table, s.result]));
    return this.sumResults(batch);
  }

  async lossAndGrad(batch: Batch): Promise<LossAndAccuracy> {
    if (!batch.ptrs.dlogits) throw new Error("this batch was laid out without gradients");
    this.buildTables();
    await this.runAll(this.lossAndGradCalls(batch));
    await this.runAll(this.reduceCalls(batch, this.executor.workers));
    this.backwardTables();
    return this.sumResults(batch);
  }

  /**
   * The phases of lossAndGrad as separately callable steps, on this thread (for profiling:
   * run in order, they are lossAndGrad with one worker).
   */
  phases(batch: Batch): [string, () => void][] {
    const engine = this.model.engine;
    const runHere = (calls: KernelCall[]) => (): void => calls.forEach((c) => call(engine, c));
    return [
      ["tables forward (per step)", () => this.buildTables()],
      ["shards: forward, loss, backward into partials", runHere(this.lossAndGradCalls(batch))],
      ["sum of shard partials", runHere(this.reduceCalls(batch, 1))],
      ["tables backward -> weight gradients", () => this.backwardTables()],
    ];
  }

  // One call per shard, given that shard's Tables pointer table.
  private shardCalls(batch: Batch, make: (s: Shard, tables: number) => KernelCall): KernelCall[] {
    return batch.shards.map((s, i) => make(s, this.shardTables[i]!));
  }

  private lossAndGradCalls(batch: Batch): KernelCall[] {
    return this.shardCalls(batch, (s, tables) => ["shard_loss_and_grad", this.model.dimsTable, tables, s.table, batch.n, s.result]);
  }

  // Partials -> the step's table gradients, in shard order, cut into `parts` ranges per array.
  private reduceCalls(batch: Batch, parts: number): KernelCall[] {
    return SHARD_GRADS.flatMap((name) => {
      const size = this.sizes[name.slice(1)]!;
      return ranges(size, parts).map(([lo, hi]): KernelCall => ["reduce_shards", this.ptrs[name]!, this.partials[name]!, size, batch.shards.length, lo, hi]);
    });
  }

  private runAll(calls: readonly KernelCall[]): Promise<void> {
    return this.executor.run(deal(calls, this.executor.workers));
  }

  private backwardTables(): void {
    const m = this.model;
    m.engine.k.tables_backward(m.dimsTable, m.paramsTable, m.gradsTable, this.tables);
  }

  // Loss sums (f64) and correct counts of the shards, added in shard order.
  private sumResults(batch: Batch): LossAndAccuracy {
    const buffer = this.model.engine.memory.buffer;
    let loss = 0, correct = 0;
    for (const s of batch.shards) {
      loss += new Float64Array(buffer, s.result, 1)[0]!;
      correct += new Int32Array(buffer, s.result + 8, 1)[0]!;
    }
    return { loss: loss / batch.n, correct };
  }
}
