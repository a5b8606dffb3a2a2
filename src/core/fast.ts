// The fast path (assembly/fast.ts): the same model and gradients through per-token tables
// built once per step, so per-example work shrinks to the attention mix and the MLP.
//
// A step runs in phases, each a list of independent kernel calls dealt out to the workers:
//   1. shards: a batch is cut into at most MAX_SHARDS shards (a function of the batch size
//      alone); each runs forward, loss and backward as far as d pre in its own rows;
//   2. table gradients: COLUMN_PARTS column ranges of dP and dU, COLUMN_PARTS row ranges of
//      dWLT, each summed over the whole batch in example order;
//   3. on this thread: dS, then the weight gradients from the table gradients.
// No call adds into another's output, so the arithmetic is the same with 1 worker or 8.

import { CONTEXT, type Split } from "./data.js";
import { call, deal, LocalExecutor, ranges, type Executor, type KernelCall } from "./executor.js";
import { Batch, type LossAndAccuracy, type Model, type Path, type Shard } from "./model.js";

/** Shards per batch (so at most this many workers can share a step). */
export const MAX_SHARDS = 8;
/** Column (and row) ranges of the table gradients: a constant, so no sum depends on the worker count. */
export const COLUMN_PARTS = 8;
/**
 * How many of those ranges also take columns of dU, whose rows are short (d_vocab floats):
 * cut finer, the per-row overhead outweighs the work.
 */
const U_PARTS = 2;

// Field order of class Tables in assembly/fast.ts.
const TABLES = ["Qt", "Kt", "Vt", "S", "R", "P", "U", "WLT", "WL"] as const;
const GRADS = ["dQt", "dKt", "dVt", "dS", "dR", "dP", "dU", "dWLT"] as const;

/**
 * [lo, hi) cuts of [0, n) into exactly `parts` ranges whose inner bounds are multiples of 4
 * (whole SIMD vectors); some may be empty when n is small.
 */
export function alignedRanges(n: number, parts: number): [number, number][] {
  const cut = (i: number): number => (i === parts ? n : 4 * Math.floor((i * n) / parts / 4));
  return Array.from({ length: parts }, (_, i) => [cut(i), cut(i + 1)] as [number, number]);
}

/**
 * The examples of a split sorted by their tokens (first position first; stable). A training
 * batch is laid out in this order: the loss and every gradient are sums over examples, which
 * only change their order of summation, while consecutive examples share their first token,
 * so the table rows of that token stay in cache through the mix and its backward.
 */
export function inTokenOrder(split: Split): Split {
  const key = (b: number, i: number): number => split.tokens[b * CONTEXT + i]!;
  const order = Array.from({ length: split.n }, (_, b) => b).sort((x, y) => {
    for (let i = 0; i < CONTEXT; i++) if (key(x, i) !== key(y, i)) return key(x, i) - key(y, i);
    return x - y;
  });
  const tokens = new Int32Array(split.tokens.length);
  order.forEach((b, r) => tokens.set(split.tokens.subarray(b * CONTEXT, (b + 1) * CONTEXT), r * CONTEXT));
  return { n: split.n, tokens, labels: Int32Array.from(order, (b) => split.labels[b]!) };
}

export class FastPath implements Path {
  /** The step's Tables pointer table (forward tables and table gradients). */
  readonly tables: number;
  private readonly sizes: Record<string, number>;
  private readonly ptrs: Record<string, number> = {};

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
    this.tables = engine.table([...TABLES, ...GRADS].map((n) => this.ptrs[n]!), engine.k.fast_table_bytes(0));
  }

  newBatch(examples: Split, backward: boolean): Batch {
    const split = backward ? inTokenOrder(examples) : examples;
    const { n } = split;
    const { d_vocab: dv, n_heads: h, d_mlp: dmlp } = this.model.dims;
    const g = backward ? 1 : 0;
    const engine = this.model.engine;
    const bytes = engine.k.fast_table_bytes(1);
    // Field order = class FastBatch in assembly/fast.ts (after n, tokens, labels): the
    // per-example fields with their floats per example, then the whole-batch ones.
    const perRow: [string, number][] = [["attn", h * CONTEXT], ["pre", dmlp], ["post", dmlp], ["logits", dv], ["dlogits", g * dv], ["dpost", g * dmlp]];
    const whole: [string, number][] = [["da_parts", g * COLUMN_PARTS * n * h * CONTEXT]];
    const batch = this.model.layBatch(split, [...perRow.map(([name, w]) => [name, n * w] as const), ...whole], bytes);
    // Each shard's table points at its rows of every per-example buffer.
    const shards: Shard[] = ranges(n, Math.min(MAX_SHARDS, n)).map(([lo, hi]) => {
      const at = (name: string, width: number): number => (batch.ptrs[name] ? batch.ptrs[name]! + 4 * lo * width : 0);
      const table = engine.table([hi - lo, at("tokens", CONTEXT), at("labels", 1), ...perRow.map(([name, w]) => at(name, w)), ...whole.map(() => 0)], bytes);
      return { n: hi - lo, table, result: engine.alloc(16) };
    });
    return new Batch(split, batch.table, batch.ptrs, shards);
  }

  /** Tables from the current weights (one thread: it is a few small products). */
  private buildTables(): void {
    const m = this.model;
    m.engine.k.tables_forward(m.dimsTable, m.paramsTable, this.tables);
  }

  /** Tables, then the forward pass of every shard (no loss). */
  async forward(batch: Batch): Promise<void> {
    this.buildTables();
    await this.runAll(this.shardCalls(batch, (s) => ["batch_forward", this.model.dimsTable, this.tables, s.table]));
  }

  async evaluate(batch: Batch): Promise<LossAndAccuracy> {
    this.buildTables();
    await this.runAll(this.shardCalls(batch, (s) => ["shard_evaluate", this.model.dimsTable, this.tables, s.table, s.result]));
    return this.sumResults(batch);
  }

  async lossAndGrad(batch: Batch): Promise<LossAndAccuracy> {
    if (!batch.ptrs.dlogits) throw new Error("this batch was laid out without gradients");
    this.buildTables();
    await this.runAll(this.lossAndGradCalls(batch));
    await this.runAll(this.tableGradCalls(batch));
    this.backwardTables(batch);
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
      ["shards: forward, loss, backward to d pre", runHere(this.lossAndGradCalls(batch))],
      ["table gradients (dP, dU, dWLT)", runHere(this.tableGradCalls(batch))],
      ["dS, tables backward -> weight gradients", () => this.backwardTables(batch)],
    ];
  }

  // One call per shard.
  private shardCalls(batch: Batch, make: (s: Shard) => KernelCall): KernelCall[] {
    return batch.shards.map(make);
  }

  private lossAndGradCalls(batch: Batch): KernelCall[] {
    return this.shardCalls(batch, (s) => ["shard_loss_and_grad", this.model.dimsTable, this.tables, s.table, batch.n, s.result]);
  }

  // The column ranges of dP and dU, then the row ranges of dWLT = postᵀ dlogits, so that
  // dealing them round robin gives every worker a like share of each kind.
  private tableGradCalls(batch: Batch): KernelCall[] {
    const { d_vocab: dv, d_mlp: dmlp } = this.model.dims;
    const p = alignedRanges(dmlp, COLUMN_PARTS), u = alignedRanges(dv, U_PARTS);
    const { post, dlogits } = batch.ptrs;
    return [
      ...p.map(([lo, hi], i): KernelCall => ["table_grad_columns", this.model.dimsTable, this.tables, batch.table, i, lo, hi, ...(u[i] ?? [0, 0])]),
      ...p.map(([lo, hi]): KernelCall => ["gemm_tn", hi - lo, dv, batch.n, post! + 4 * lo, dmlp, dlogits!, dv, this.ptrs.dWLT! + 4 * lo * dv, dv, 0]),
    ];
  }

  private runAll(calls: readonly KernelCall[]): Promise<void> {
    return this.executor.run(deal(calls, this.executor.workers));
  }

  private backwardTables(batch: Batch): void {
    const m = this.model;
    m.engine.k.score_grads(m.dimsTable, this.tables, batch.table, COLUMN_PARTS);
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
