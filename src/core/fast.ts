// The fast path (assembly/fast.ts): the same model and gradients through per-token tables
// built once per step, so per-example work shrinks to the attention mix and the MLP.
//
// A step runs in phases, each a list of independent kernel calls that the workers claim one
// by one (or, for the small ones, run on this thread):
//   1. tables: the attention side here, then PARTS row ranges of P and U;
//   2. shards: a batch is cut into at most MAX_SHARDS shards (a function of the batch size
//      alone); each runs forward, loss and backward as far as d pre in its own rows;
//   3. table gradients: PARTS column ranges of dP and dU, PARTS row ranges of dWLT, each
//      summed over the whole batch in example order;
//   4. weight gradients: PARTS row ranges of the MLP side, then the attention side here.
// No call adds into another's output, so the arithmetic is the same with 1 worker or 8.

import { CONTEXT, type Split } from "./data.js";
import { call, LocalExecutor, ranges, type Executor, type KernelCall } from "./executor.js";
import { Batch, type LossAndAccuracy, type Model, type Path, type Shard } from "./model.js";

/** Shards per batch: twice PARTS, so that when workers claim them the last ones are short. */
export const MAX_SHARDS = 16;
/**
 * Into how many calls each parallel phase is cut (column or row ranges of its outputs): a
 * constant, so no sum depends on the worker count.
 */
export const PARTS = 8;
/** Workers that can share a step (each parallel phase has at least this many calls). */
export const MAX_WORKERS = PARTS;
/**
 * How many of those ranges also take columns of dU, whose rows are short (d_vocab floats):
 * cut finer, the per-row overhead outweighs the work.
 */
const U_PARTS = 2;

/** A phase of a step: its calls, independent of each other, run on this thread or claimed by the workers. */
type Phase = [name: string, where: "here" | "workers", calls: KernelCall[]];

/** PARTS calls, made by part number. */
const parts = (make: (part: number) => KernelCall): KernelCall[] => Array.from({ length: PARTS }, (_, i) => make(i));

// Field order of class Tables in assembly/fast.ts.
const TABLES = ["Qt", "Kt", "Vt", "S", "R", "P", "U", "WLT", "WLTp", "WLp"] as const;
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
  private readonly ptrs: Record<string, number> = {};

  constructor(readonly model: Model, readonly executor: Executor = new LocalExecutor(model.engine)) {
    const { engine, dims } = model;
    const { d_vocab: dv, d_model: dm, n_heads: h, d_head: dh, d_mlp: dmlp } = dims;
    const hd = h * dh;
    const sizes: Record<string, number> = {
      Qt: dv * hd, Kt: dv * hd, Vt: dv * hd, S: h * dv * dv, R: (1 + h) * dv * dm,
      P: (1 + h) * dv * dmlp, U: (1 + h) * dv * dv, WLT: dmlp * dv,
      WLTp: engine.k.panels_size(dmlp, dv), WLp: engine.k.panels_size(dv, dmlp),
    };
    for (const name of TABLES) this.ptrs[name] = engine.allocF32(sizes[name]!);
    for (const name of GRADS) this.ptrs[name] = engine.allocF32(sizes[name.slice(1)]!);
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
    // per-example fields with their floats per example, dlogits in panels (8 floats per
    // example and panel), the whole-batch da_parts, then panel_rows = n.
    const perRow: [string, number][] = [["attn", h * CONTEXT], ["pre", dmlp], ["post", dmlp], ["logits", dv], ["dlogits", g * dv], ["dpost", g * dmlp]];
    const batch = this.model.layBatch(split, [
      ...perRow.map(([name, w]) => [name, n * w] as const),
      ["dlogits_panels", g * engine.k.panels_size(n, dv)],
      ["da_parts", g * PARTS * n * h * CONTEXT],
    ], bytes, [n]);
    // Each shard's table points at its rows of every per-example buffer.
    const shards: Shard[] = ranges(n, Math.min(MAX_SHARDS, n)).map(([lo, hi]) => {
      const at = (name: string, width: number): number => (batch.ptrs[name] ? batch.ptrs[name]! + 4 * lo * width : 0);
      const table = engine.table([hi - lo, at("tokens", CONTEXT), at("labels", 1), ...perRow.map(([name, w]) => at(name, w)), at("dlogits_panels", 8), 0, n], bytes);
      return { n: hi - lo, table, result: engine.alloc(16) };
    });
    return new Batch(split, batch.table, batch.ptrs, shards);
  }

  /** Tables, then the forward pass of every shard (no loss). */
  async forward(batch: Batch): Promise<void> {
    await this.run([...this.tablesForward(), ["shards: forward", "workers", this.shardCalls(batch, "batch_forward")]]);
  }

  async evaluate(batch: Batch): Promise<LossAndAccuracy> {
    await this.run([...this.tablesForward(), ["shards: forward, loss", "workers", this.shardCalls(batch, "shard_evaluate", s => [s.result])]]);
    return this.sumResults(batch);
  }

  async lossAndGrad(batch: Batch): Promise<LossAndAccuracy> {
    if (!batch.ptrs.dlogits) throw new Error("this batch was laid out without gradients");
    await this.run(this.step(batch));
    return this.sumResults(batch);
  }

  /**
   * The phases of lossAndGrad as separately callable steps, on this thread (for profiling:
   * run in order, they are lossAndGrad with one worker).
   */
  phases(batch: Batch): [string, () => void][] {
    return this.step(batch).map(([name, , calls]) => [name, () => calls.forEach((c) => call(this.model.engine, c))]);
  }

  /** The phases of a training step, in order. */
  private step(batch: Batch): Phase[] {
    const { dimsTable, paramsTable, gradsTable } = this.model;
    return [
      ...this.tablesForward(),
      ["shards: forward, loss, backward to d pre", "workers", this.shardCalls(batch, "shard_loss_and_grad", (s) => [batch.n, s.result])],
      ["table gradients: dP, dU, dWLT", "workers", this.tableGradCalls(batch)],
      ["tables backward: MLP side", "workers", parts((i) => ["tables_backward_rows", dimsTable, paramsTable, gradsTable, this.tables, i, PARTS])],
      ["tables backward: attention side", "here", [
        ["score_grads", dimsTable, this.tables, batch.table, PARTS],
        ["tables_backward_heads", dimsTable, paramsTable, gradsTable, this.tables],
      ]],
    ];
  }

  /** The phases that build the tables from the current weights. */
  private tablesForward(): Phase[] {
    const { dimsTable, paramsTable } = this.model;
    return [
      ["tables forward: attention side", "here", [["tables_forward_heads", dimsTable, paramsTable, this.tables]]],
      ["tables forward: P, U", "workers", parts((i) => ["tables_forward_rows", dimsTable, paramsTable, this.tables, i, PARTS])],
    ];
  }

  // One call per shard: kernel(dims, tables, shard table, ...more(shard)).
  private shardCalls(batch: Batch, kernel: KernelCall[0], more: (s: Shard) => number[] = () => []): KernelCall[] {
    return batch.shards.map((s) => [kernel, this.model.dimsTable, this.tables, s.table, ...more(s)]);
  }

  // The column ranges of dP and dU (the first U_PARTS of them the longest), then the row
  // ranges of dWLT = postᵀ dlogits: workers claim them in this order.
  private tableGradCalls(batch: Batch): KernelCall[] {
    const { d_vocab: dv, d_mlp: dmlp } = this.model.dims;
    const p = alignedRanges(dmlp, PARTS), u = alignedRanges(dv, U_PARTS);
    const { post, dlogits_panels } = batch.ptrs;
    return [
      ...p.map(([lo, hi], i): KernelCall => ["table_grad_columns", this.model.dimsTable, this.tables, batch.table, i, lo, hi, ...(u[i] ?? [0, 0])]),
      ...p.map(([lo, hi]): KernelCall => ["gemm_tn_panels", hi - lo, dv, batch.n, post! + 4 * lo, dmlp, dlogits_panels!, this.ptrs.dWLT! + 4 * lo * dv, dv, 0]),
    ];
  }

  // Phases in order: "here" on this thread, "workers" on the executor's workers.
  private async run(phases: readonly Phase[]): Promise<void> {
    for (const [, where, calls] of phases) {
      if (where === "here") calls.forEach((c) => call(this.model.engine, c));
      else await this.executor.run(calls);
    }
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
