// The fast path (assembly/fast.ts): the same model and gradients through per-token tables
// built once per step, so per-example work shrinks to the attention mix and the MLP.
//
// A step runs in phases, each a list of independent kernel calls that the workers claim one
// by one (or, for the tiny one, run on this thread):
//   1. tables: R_0 = W_Eᵀ here, then one call per head and one for W_outᵀ W_U, then PARTS
//      row ranges of P and U;
//   2. shards: a batch is cut into at most MAX_SHARDS shards (a function of the batch size
//      alone); each runs forward, loss and backward as far as d pre and d attn in its own rows
//      and writes its examples' losses, which the host adds by LOSS_BLOCKS fixed blocks;
//   3. table gradients: a column range of dP and dU per thread, then PARTS row ranges of
//      dWLT, each summed over the whole batch in example order;
//   4. weight gradients: PARTS row ranges of the MLP side, then one call per head, then
//      PARTS token ranges of the embedding.
// No call adds into another's output, so the arithmetic is the same with 1 worker or 8.

import { CONTEXT, type Split } from "../data/data.js";
import type { Kernels } from "../wasm/engine.js";
import { call, LocalExecutor, ranges, sharedClock, type Executor, type KernelCall, type ThreadTiming } from "./executor.js";
import type { Region } from "../wasm/region.js";
import { Batch, type AdamWConfig, type LossAndAccuracy, type Model, type Path, type Shard } from "./model.js";
import type { Dims } from "./params.js";

/** Shards per batch: four times PARTS, so that when workers claim them the last ones are short. */
export const MAX_SHARDS = 32;
/**
 * Into how many blocks a batch's per-example losses are summed (each block in example order,
 * then the blocks in order): the cut the shards once had, kept so that the loss keeps its
 * floats whatever MAX_SHARDS is.
 */
const LOSS_BLOCKS = 16;
/**
 * Into how many calls each parallel phase is cut (column or row ranges of its outputs): a
 * constant, so no sum depends on the worker count.
 */
export const PARTS = 8;
/** Workers that can share a step (each parallel phase has at least this many calls). */
export const MAX_WORKERS = PARTS;
/**
 * The attention gradient's dots (d attn, in the shards) are summed over PARTS column ranges of
 * P, the first U_PARTS of them with a range of U's columns added: the order the table
 * gradients once took them in, kept so that the sums stay the same.
 */
const U_PARTS = 2;

/** A phase of a step: its calls, independent of each other, run on this thread or claimed by the workers. */
type Phase = [name: string, where: "here" | "workers", calls: KernelCall[]];

/** One phase of a timed step: when the host started and saw it end, and what each thread did. */
export interface PhaseTiming {
  phase: string;
  where: "here" | "workers";
  start: number;
  end: number;
  threads: ThreadTiming[];
}

/** Consecutive phases that run in the same place, grouped (a pool runs a group as one list). */
function runsOfPhases(phases: readonly Phase[]): Phase[][] {
  const groups: Phase[][] = [];
  for (const phase of phases) {
    const last = groups.at(-1);
    if (last && last[0]![1] === phase[1]) last.push(phase);
    else groups.push([phase]);
  }
  return groups;
}

/** `count` calls, made by number. */
const numbered = (count: number, make: (i: number) => KernelCall): KernelCall[] => Array.from({ length: count }, (_, i) => make(i));
/** PARTS calls, made by part number. */
const parts = (make: (part: number) => KernelCall): KernelCall[] => numbered(PARTS, make);

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
 * [lo, hi, segment] cuts of a split's rows: each segment cut into min(its rows,
 * floor(count / segments)) nearly equal ranges (at least one), a function of the layout alone.
 */
function segmentCuts(split: Split, count: number): [number, number, number][] {
  const perSegment = Math.max(1, Math.floor(count / split.segments.length));
  return split.segments.flatMap(({ start, n }, segment) =>
    ranges(n, Math.min(perSegment, n)).map(([lo, hi]): [number, number, number] => [start + lo, start + hi, segment]));
}

/**
 * The examples of each segment of a split sorted by their tokens (first position first;
 * stable). A training batch is laid out in this order: the loss and every gradient are sums
 * over examples, which only change their order of summation, while consecutive examples
 * share their first token, so the table rows of that token stay in cache through the mix
 * and its backward.
 */
export function inTokenOrder(split: Split): Split {
  const key = (b: number, i: number): number => split.tokens[b * CONTEXT + i]!;
  const order = split.segments.flatMap(({ start, n }) => Array.from({ length: n }, (_, i) => start + i).sort((x, y) => {
    for (let i = 0; i < CONTEXT; i++) if (key(x, i) !== key(y, i)) return key(x, i) - key(y, i);
    return x - y;
  }));
  const tokens = new Int32Array(split.tokens.length);
  order.forEach((b, r) => tokens.set(split.tokens.subarray(b * CONTEXT, (b + 1) * CONTEXT), r * CONTEXT));
  return { ...split, tokens, labels: Int32Array.from(order, (b) => split.labels[b]!) };
}

/**
 * Every (example b, position i) of a split as b << 2 | i, in the order table_grad_columns
 * takes them: grouped by the token t_i, each group in batch order. Every table row belongs to
 * one token, so each entry still sums its terms in batch order, while a token's pairs come
 * together (the rows of its tables stay in cache, and its table gradients are a small product).
 */
export function gatherOrder(split: Split): Int32Array {
  const groups: number[][] = [];
  for (let b = 0; b < split.n; b++) for (let i = 0; i < CONTEXT; i++) (groups[split.tokens[b * CONTEXT + i]!] ??= []).push((b << 2) | i);
  return Int32Array.from(groups.flatMap((g) => g ?? []));
}

/**
 * Every example grouped by its last token, in batch order within a token (the pairs of a
 * gather order at the last position): the order in which table_grad_columns sums dP_0 and
 * dU_0, the rows every example adds in whole.
 */
export function lastTokenOrder(gather: Int32Array): Int32Array {
  return Int32Array.from(gather.filter((item) => (item & 3) === CONTEXT - 1), (item) => item >> 2);
}

type TableName = (typeof TABLES)[number];

/**
 * The floats of each per-step table (each gradient table has its table's size); P's rows are
 * mlp_stride apart.
 */
export function tableFloats(k: Pick<Kernels, "panels_size" | "mlp_stride">, dims: Dims): Record<TableName, number> {
  const { d_vocab: dv, d_model: dm, n_heads: h, d_head: dh, d_mlp: dmlp } = dims;
  const hd = h * dh;
  return {
    Qt: dv * hd, Kt: dv * hd, Vt: dv * hd, S: h * dv * dv, R: (1 + h) * dv * dm,
    P: (1 + h) * dv * k.mlp_stride(dmlp), U: (1 + h) * dv * dv, WLT: dmlp * dv,
    WLTp: k.panels_size(dmlp, dv, 8), WLp: k.panels_size(dv, dmlp, 8),
  };
}

/**
 * d_vocab rounded up to whole tiles of 4 rows: the rows of dlogits transposed, A of
 * neuron_logit_grads, whose rows past d_vocab stay 0 so that its last tile is whole.
 */
const vocabTileRows = (dv: number): number => 4 * Math.ceil(dv / 4);

/**
 * The floats of one call's scratch area: A of a product over a range of d_mlp rows, packed a
 * block at a time (tables_backward_rows' ranges), or a range of dWLT's rows transposed
 * (neuron_logit_grads).
 */
function scratchFloats(k: Pick<Kernels, "pack_scratch_floats">, dims: Dims): number {
  const widest = Math.max(...alignedRanges(dims.d_mlp, PARTS).map(([lo, hi]) => hi - lo));
  return Math.max(k.pack_scratch_floats(Math.ceil(dims.d_mlp / PARTS)), vocabTileRows(dims.d_vocab) * widest);
}

/**
 * The floats of each buffer of a batch of n examples: the per-example fields (rows of post
 * and d pre mlp_stride apart), dlogits transposed (its rows rounded up to 4), d attn, and the
 * whole batch's gather order, each pair's slot in it, the attention weights in its order, and
 * its last-token order; and each example's loss (f64, two floats).
 */
export function batchFloats(k: Pick<Kernels, "mlp_stride">, dims: Dims, n: number, backward: boolean) {
  const { d_vocab: dv, n_heads: h, d_mlp: dmlp } = dims;
  const g = backward ? 1 : 0;
  const ldp = k.mlp_stride(dmlp);
  const widths = { attn: h * CONTEXT, post: ldp, logits: dv, dlogits: g * dv, dpost: g * ldp };
  return {
    widths,
    sizes: {
      ...(Object.fromEntries(Object.entries(widths).map(([name, w]) => [name, n * w])) as typeof widths),
      dlogitsT: g * n * vocabTileRows(dv),
      da: g * n * h * CONTEXT,
      gather_order: g * n * CONTEXT,
      gather_slots: g * n * CONTEXT,
      gather_weights: g * n * CONTEXT * h,
      last_order: g * n,
      losses: 2 * n,
    },
  };
}

export class FastPath implements Path {
  /** The step's Tables pointer table (forward tables and table gradients). */
  readonly tables: Region<"u32">;
  private readonly t: Record<(typeof TABLES)[number] | (typeof GRADS)[number], Region<"f32">>;
  /** PARTS scratch areas of the products that pack A as they go (one per call of a phase). */
  private readonly scratchArea: Region<"f32">;
  private readonly scratchStride: number;
  /** Runs the phases meant for this thread. */
  private readonly here: LocalExecutor;
  /** The column ranges of P and U the table gradients (and the shards' d attn sums) are cut into. */
  private readonly columns: { p: [number, number][]; u: [number, number][] };
  /** Their bounds (i32): PARTS + 1 of P's columns, then U_PARTS + 1 of U's. */
  private readonly cuts: Region<"i32">;

  constructor(readonly model: Model, readonly executor: Executor = new LocalExecutor(model.engine)) {
    const { engine, dims } = model;
    const sizes = tableFloats(engine.k, dims);
    const alloc = (name: string, size: number) => [name, engine.alloc("f32", size)] as const;
    this.t = Object.fromEntries([...TABLES.map((n) => alloc(n, sizes[n])), ...GRADS.map((n) => alloc(n, sizes[n.slice(1) as TableName]))]) as FastPath["t"];
    this.tables = engine.struct("Tables", this.t);
    this.scratchStride = scratchFloats(engine.k, dims);
    this.scratchArea = engine.alloc("f32", PARTS * this.scratchStride);
    this.here = new LocalExecutor(engine);
    this.columns = { p: alignedRanges(dims.d_mlp, PARTS), u: alignedRanges(dims.d_vocab, U_PARTS) };
    const bounds = [...this.columns.p.map(([lo]) => lo), dims.d_mlp, ...this.columns.u.map(([lo]) => lo), dims.d_vocab];
    this.cuts = engine.alloc("i32", bounds.length);
    this.cuts.write(bounds);
  }

  /** Floats the tables, their gradients, the scratch areas and the column cuts take. */
  static tablesFloats(k: Pick<Kernels, "panels_size" | "pack_scratch_floats" | "mlp_stride">, dims: Dims): number {
    const sizes = tableFloats(k, dims);
    return [...TABLES, ...GRADS.map((n) => n.slice(1) as TableName)].reduce((s, n) => s + sizes[n], 0) + PARTS * scratchFloats(k, dims) + PARTS + U_PARTS + 2;
  }

  // The scratch area of call `part` of a phase.
  private scratch(part: number): number {
    return this.scratchArea.at(part * this.scratchStride).ptr;
  }

  newBatch(examples: Split, backward: boolean): Batch {
    const split = backward ? inTokenOrder(examples) : examples;
    const { n } = split;
    const dv = this.model.dims.d_vocab;
    const engine = this.model.engine;
    const { widths, sizes } = batchFloats(engine.k, this.model.dims, n, backward);
    const whole = this.model.layBatch(split, sizes, (tokens, labels, fields) => engine.struct("FastBatch", { n, tokens, labels, ...fields, panel_rows: n }));
    if (backward) {
      const order = gatherOrder(split), slots = new Int32Array(order.length);
      order.forEach((item, slot) => (slots[(item >> 2) * CONTEXT + (item & 3)] = slot));
      whole.fields["gather_order"]!.as("i32").write(order, "gather order");
      whole.fields["gather_slots"]!.as("i32").write(slots, "gather slots");
      whole.fields["last_order"]!.as("i32").write(lastTokenOrder(order), "last-token order");
    }
    // Each segment is cut into shards of its own (a function of the batch's layout alone);
    // each shard's table points at its rows of every per-example buffer.
    const shards: Shard[] = segmentCuts(split, MAX_SHARDS).map(([lo, hi, segment]) => {
      const rows = (r: Region | null, width: number): Region | null => r && r.at(lo * width);
      const f = whole.fields as Record<keyof typeof sizes, Region<"f32"> | null>;
      const table = engine.struct("FastBatch", {
        n: hi - lo, tokens: rows(whole.tokens, CONTEXT), labels: rows(whole.labels, 1),
        attn: rows(f.attn, widths.attn), post: rows(f.post, widths.post), logits: rows(f.logits, dv),
        dlogits: rows(f.dlogits, dv), dpost: rows(f.dpost, widths.post), dlogitsT: rows(f.dlogitsT, 1), da: rows(f.da, widths.attn), gather_order: null, panel_rows: n, gather_slots: rows(f.gather_slots, CONTEXT), gather_weights: f.gather_weights, last_order: null, losses: rows(f.losses, 2),
      });
      return { n: hi - lo, segment, table, correct: engine.alloc("i32", 1) };
    });
    return new Batch(split, whole.tokens, whole.labels, whole.fields, whole.table, shards, widths);
  }

  async update(opt: AdamWConfig, t: number): Promise<void> {
    await this.executor.run([this.model.adamwCalls(opt, t)]);
  }

  /** Tables, then the forward pass of every shard (no loss). */
  async forward(batch: Batch): Promise<void> {
    await this.run([...this.tablesForward(), ["shards: forward", "workers", this.shardCalls(batch, "batch_forward")]]);
  }

  async evaluate(batch: Batch): Promise<LossAndAccuracy[]> {
    await this.run([...this.tablesForward(), ["shards: forward, loss", "workers", this.shardCalls(batch, "shard_evaluate", (s) => [s.correct.ptr])]]);
    return this.sumResults(batch);
  }

  async lossAndGrad(batch: Batch): Promise<LossAndAccuracy[]> {
    await this.run(this.step(batch)); // step() rejects a batch laid out without gradients
    return this.sumResults(batch);
  }

  /**
   * The phases of lossAndGrad as separately callable steps, on this thread (for profiling:
   * run in order, they are lossAndGrad with one worker).
   */
  phases(batch: Batch): [string, () => void][] {
    return this.step(batch).map(([name, , calls]) => [name, () => calls.forEach((c) => call(this.model.engine, c))]);
  }

  /**
   * lossAndGrad, timing every phase on a clock all threads share (the benchmarks' timeline):
   * the same calls, so the same results.
   */
  async timedLossAndGrad(batch: Batch): Promise<PhaseTiming[]> {
    const timings: PhaseTiming[] = [];
    for (const group of runsOfPhases(this.step(batch))) {
      const where = group[0]![1];
      const start = sharedClock();
      const threads = await this.executorFor(where).runTimed(group.map(([, , calls]) => calls));
      const end = sharedClock();
      // In a run of worker phases, a phase starts when the last thread is done with the one before.
      group.forEach(([phase], p) => timings.push({
        phase, where, threads: threads[p]!,
        start: p === 0 ? start : Math.max(...threads[p - 1]!.map((t) => t.end)),
        end: p + 1 === group.length ? end : Math.max(...threads[p]!.map((t) => t.end)),
      }));
    }
    return timings;
  }

  /** The phases of a training step, in order. */
  private step(batch: Batch): Phase[] {
    const [dims, params, grads, tables] = [this.model.dimsTable.ptr, this.model.paramsTable.ptr, this.model.gradsTable.ptr, this.tables.ptr];
    return [
      ...this.tablesForward(),
      ["shards: forward, loss, d pre, d attn", "workers", this.shardCalls(batch, "shard_loss_and_grad", (s) => [batch.examples.segments[s.segment]!.n, s.correct.ptr, this.cuts.ptr, PARTS, U_PARTS])],
      ["table gradients: dP, dU, dWLT", "workers", this.tableGradCalls(batch)],
      ["tables backward: MLP side", "workers", parts((i) => ["tables_backward_rows", dims, params, grads, tables, i, PARTS, this.scratch(i)])],
      ["tables backward: attention heads", "workers", numbered(this.model.dims.n_heads, (h) => ["tables_backward_head", dims, params, grads, tables, batch.table.ptr, h])],
      ["tables backward: embedding", "workers", parts((i) => ["tables_backward_embedding", dims, params, grads, tables, i, PARTS])],
    ];
  }

  /** The phases that build the tables from the current weights. */
  private tablesForward(): Phase[] {
    const [dims, params, tables] = [this.model.dimsTable.ptr, this.model.paramsTable.ptr, this.tables.ptr];
    return [
      ["tables forward: embedding", "here", [["tables_embedding", dims, params, tables]]],
      ["tables forward: attention heads, W_outᵀ W_U", "workers", [["tables_forward_neurons", dims, params, tables], ...numbered(this.model.dims.n_heads, (h) => ["tables_forward_head", dims, params, tables, h])]],
      ["tables forward: P, U", "workers", parts((i) => ["tables_forward_rows", dims, params, tables, i, PARTS])],
    ];
  }

  // One call per shard: kernel(dims, tables, shard table, ...more(shard)).
  private shardCalls(batch: Batch, kernel: KernelCall[0], more: (s: Shard) => number[] = () => []): KernelCall[] {
    return batch.shards.map((s) => [kernel, this.model.dimsTable.ptr, this.tables.ptr, s.table.ptr, ...more(s)]);
  }

  // dP and dU in one column range per thread (the longest calls, so claimed first), then the
  // row ranges of dWLT = postᵀ dlogits (from dlogits transposed, so no call packs an operand).
  // Each column of dP and dU is summed on its own, so their split changes no float, and the
  // widest ranges cost least: each row of d pre is read whole, its cache lines in sequence, and
  // each token's (example, position) pairs are walked once per range. One range instead of 8
  // took 0.5 ms off a step on one thread.
  private tableGradCalls(batch: Batch): KernelCall[] {
    const threads = this.executor.workers, { d_mlp, d_vocab } = this.model.dims;
    const p = alignedRanges(d_mlp, threads), u = alignedRanges(d_vocab, threads);
    return [
      ...p.map(([lo, hi], i): KernelCall => ["table_grad_columns", this.model.dimsTable.ptr, this.tables.ptr, batch.table.ptr, lo, hi, ...u[i]!]),
      ...this.columns.p.map(([lo, hi], i): KernelCall => ["neuron_logit_grads", this.model.dimsTable.ptr, this.tables.ptr, batch.table.ptr, lo, hi, this.scratch(i)]),
    ];
  }

  // Phases in order: "here" on this thread, each run of "workers" phases in one executor call.
  private async run(phases: readonly Phase[]): Promise<void> {
    for (const group of runsOfPhases(phases)) await this.executorFor(group[0]![1]).run(group.map(([, , calls]) => calls));
  }

  private executorFor(where: Phase[1]): Executor {
    return where === "here" ? this.here : this.executor;
  }

  // Each segment's mean loss (its examples' losses summed by LOSS_BLOCKS blocks, whatever
  // the shards) and correct count.
  private sumResults(batch: Batch): LossAndAccuracy[] {
    const losses = batch.field("losses").as("f64").view();
    const results = batch.examples.segments.map(({ n }) => ({ loss: 0, correct: 0, n }));
    for (const [lo, hi, segment] of segmentCuts(batch.examples, LOSS_BLOCKS)) {
      let block = 0;
      for (let r = lo; r < hi; r++) block += losses[r]!;
      results[segment]!.loss += block;
    }
    for (const s of batch.shards) results[s.segment]!.correct += s.correct.view()[0]!;
    return results.map(({ loss, correct, n }) => ({ loss: loss / n, correct }));
  }
}
