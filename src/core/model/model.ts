// The model as the host sees it: the parameter, gradient and AdamW moment buffers in WASM
// memory (one flat region each, laid out by params.ts) and the pointer tables the core
// reads. How a loss and its gradients are computed is a Path's business (reference.ts:
// the literal model; fast.ts: the same mathematics through per-token tables).

import { CONTEXT, type Split } from "../data/data.js";
import type { Engine } from "../wasm/engine.js";
import type { Region } from "../wasm/region.js";
import { call, type KernelCall } from "./executor.js";
import { entryOf, paramLayout, type Dims, type ParamLayout, type ParamName } from "./params.js";

/** AdamW hyper-parameters (PyTorch's names). */
export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
}

/** The result of one task (one segment of a batch): its mean loss and how many it got right. */
export interface LossAndAccuracy {
  loss: number;
  correct: number;
}

/** The loss of a batch: the sum of each task's mean loss (for one task, its mean loss). */
export const totalLoss = (results: readonly LossAndAccuracy[]): number => results.reduce((s, r) => s + r.loss, 0);

/** One shard of a batch: its own pointer table over a slice of one segment's rows. */
export interface Shard {
  readonly n: number;
  /** The segment (task) its rows belong to. */
  readonly segment: number;
  readonly table: Region<"u32">;
  /** How many of its rows it got right (one i32). */
  readonly correct: Region<"i32">;
}

/**
 * A batch laid out in WASM memory: its tokens and labels, a buffer per named field (null:
 * absent), and the pointer table the core reads. `examples` are its examples in the order
 * of its rows (a path may reorder a split). `strides` gives the floats from one row of a
 * field to the next where a path pads its rows (others: rows packed).
 */
export class Batch {
  constructor(
    readonly examples: Split,
    readonly tokens: Region<"i32">,
    readonly labels: Region<"i32">,
    readonly fields: Readonly<Record<string, Region<"f32"> | null>>,
    readonly table: Region<"u32">,
    readonly shards: readonly Shard[] = [],
    readonly strides: Readonly<Record<string, number>> = {},
  ) {}

  get n(): number {
    return this.examples.n;
  }

  /** The buffer of a field; an error if this batch was laid out without it. */
  field(name: string): Region<"f32"> {
    const r = this.fields[name];
    if (!r) throw new Error(`this batch was laid out without '${name}'${name.startsWith("d") ? " (no gradients)" : ""}`);
    return r;
  }

  /** The first `width` floats of every row of a field, rows packed (a copy if the rows are padded). */
  rows(name: string, width: number): Float32Array {
    const all = this.field(name).view(), stride = this.strides[name] ?? width;
    if (stride === width) return all.subarray(0, this.n * width);
    const out = new Float32Array(this.n * width);
    for (let r = 0; r < this.n; r++) out.set(all.subarray(r * stride, r * stride + width), r * width);
    return out;
  }
}

/**
 * One way of computing logits, loss and gradients for a Model. Asynchronous because the
 * work may run on other threads; the results never depend on where it ran. Results come
 * per segment of the batch (per task), in segment order.
 */
export interface Path {
  readonly model: Model;
  /** Lays out a batch over `split`; with `backward`, also what its gradients need. */
  newBatch(split: Split, backward: boolean): Batch;
  /** One AdamW update of the model (step t >= 1), on the threads this path runs its kernels on. */
  update(opt: AdamWConfig, t: number): Promise<void>;
  /** Forward pass, each segment's mean loss and number of correct predictions (no gradients). */
  evaluate(batch: Batch): Promise<LossAndAccuracy[]>;
  /**
   * Forward and backward: the gradient of the loss, the sum over segments of each segment's
   * mean loss, is ADDED to the model's gradient buffer.
   */
  lossAndGrad(batch: Batch): Promise<LossAndAccuracy[]>;
}

/** Floats of one AdamW call (a multiple of 4: every call but a tensor's last runs whole vectors). */
const ADAMW_CHUNK = 16384;

/** The four buffers of the parameter layout: weights, their gradients and AdamW's two moments. */
export type BufferName = "params" | "grads" | "m" | "v";

export class Model {
  readonly layout: ParamLayout;
  private readonly buffers: Record<BufferName, Region<"f32">>;
  /** Pointer tables of assembly/model.ts: Dims, and Weights over params and over grads. */
  readonly dimsTable: Region<"u32">;
  readonly paramsTable: Region<"u32">;
  readonly gradsTable: Region<"u32">;
  /** AdamW's settings and step, as adamw_step_at reads them (f64: lr, beta1, beta2, eps, weight_decay, t). */
  private readonly adamw: Region<"f64">;

  /**
   * `frozen` tensors take no AdamW update and no weight decay, and the core skips their
   * gradients (the Weights table over the gradients holds null for them).
   */
  constructor(readonly engine: Engine, readonly dims: Dims, readonly frozen: ReadonlySet<ParamName> = new Set()) {
    this.layout = paramLayout(dims);
    const total = this.layout.total;
    this.buffers = { params: engine.alloc("f32", total), grads: engine.alloc("f32", total), m: engine.alloc("f32", total), v: engine.alloc("f32", total) };
    const { d_vocab, d_model, n_heads, d_head, d_mlp } = dims;
    this.dimsTable = engine.struct("Dims", { d_vocab, d_model, n_heads, d_head, d_mlp });
    this.paramsTable = engine.struct("Weights", this.weightsIn("params"));
    this.gradsTable = engine.struct("Weights", this.weightsIn("grads"));
    this.adamw = engine.alloc("f64", 6);
  }

  // The Weights table over one buffer: field W_E is tensor embed.W_E, and so on (null for a
  // frozen tensor's gradient).
  private weightsIn(which: BufferName) {
    const at = (name: ParamName): Region<"f32"> | null => (which === "grads" && this.frozen.has(name) ? null : this.buffer(which, name));
    return {
      W_E: at("embed.W_E"), W_K: at("blocks.0.attn.W_K"), W_Q: at("blocks.0.attn.W_Q"), W_V: at("blocks.0.attn.W_V"),
      W_O: at("blocks.0.attn.W_O"), W_in: at("blocks.0.mlp.W_in"), W_out: at("blocks.0.mlp.W_out"), W_U: at("unembed.W_U"),
    };
  }

  /** A whole buffer, or one tensor's region in it. */
  buffer(which: BufferName, name?: ParamName | string): Region<"f32"> {
    const all = this.buffers[which];
    if (name === undefined) return all;
    const e = entryOf(this.layout, name);
    return all.at(e.offset, e.size);
  }

  /** The live parameter tensor `name` (a view into WASM memory). */
  tensor(name: ParamName | string, which: BufferName = "params"): Float32Array {
    return this.buffer(which, name).view();
  }

  gradient(name: ParamName | string): Float32Array {
    return this.tensor(name, "grads");
  }

  setTensor(name: ParamName | string, data: ArrayLike<number>): void {
    this.buffer("params", name).write(data, name);
  }

  /**
   * Lays out a split: its tokens and labels, and a zeroed f32 buffer per named field
   * (`sizes` in floats; 0 = absent). The path then writes the batch's pointer table.
   */
  layBatch<K extends string>(split: Split, sizes: Record<K, number>, table: (tokens: Region<"i32">, labels: Region<"i32">, fields: Record<K, Region<"f32"> | null>) => Region<"u32">): Batch {
    const tokens = this.engine.alloc("i32", split.n * CONTEXT);
    const labels = this.engine.alloc("i32", split.n);
    tokens.write(split.tokens, "tokens");
    labels.write(split.labels, "labels");
    const fields = Object.fromEntries(Object.entries<number>(sizes).map(([name, size]) => [name, size > 0 ? this.engine.alloc("f32", size) : null])) as Record<K, Region<"f32"> | null>;
    return new Batch(split, tokens, labels, fields, table(tokens, labels, fields));
  }

  /**
   * Each segment's mean loss (float64) and correct count from the batch's logits; with
   * `withGrad`, writes the dlogits of the sum of the segments' mean losses.
   */
  lossOf(batch: Batch, withGrad: boolean): LossAndAccuracy[] {
    const { k } = this.engine;
    const dv = this.dims.d_vocab;
    return batch.examples.segments.map(({ start, n }) => {
      const logits = batch.field("logits").at(start * dv).ptr, labels = batch.labels.at(start).ptr;
      const dlogits = withGrad ? batch.field("dlogits").at(start * dv).ptr : 0;
      return { loss: k.cross_entropy(logits, labels, n, dv, dlogits, n) / n, correct: k.count_correct(logits, labels, n, dv) };
    });
  }

  /** The logits of a batch after a forward pass, [n, d_vocab]. */
  logits(batch: Batch): Float32Array {
    return batch.field("logits").view();
  }

  zeroGrad(): void {
    this.buffers.grads.fill(0);
  }

  /**
   * One AdamW update (step t >= 1) as kernel calls: every tensor that is not frozen (those: no
   * update, no decay), in chunks of ADAMW_CHUNK floats. Each float is updated on its own, so
   * the calls may run in any order on any thread, and they stay the same from step to step:
   * the settings and t go to the buffer they read.
   */
  adamwCalls(opt: AdamWConfig, t: number): KernelCall[] {
    this.adamw.write([opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay, t]);
    const { params: w, grads: g, m, v } = this.buffers;
    return this.layout.entries.filter((e) => !this.frozen.has(e.name)).flatMap((e) =>
      Array.from({ length: Math.ceil(e.size / ADAMW_CHUNK) }, (_, c): KernelCall => {
        const at = e.offset + c * ADAMW_CHUNK, n = Math.min(ADAMW_CHUNK, e.size - c * ADAMW_CHUNK);
        return ["adamw_step_at", w.at(at).ptr, g.at(at).ptr, m.at(at).ptr, v.at(at).ptr, n, this.adamw.ptr];
      }));
  }

  /** One AdamW update on this thread. */
  adamwStep(opt: AdamWConfig, t: number): void {
    for (const c of this.adamwCalls(opt, t)) call(this.engine, c);
  }

  /** L2 norm of one parameter tensor (f64 accumulation). */
  tensorNorm(name: ParamName | string): number {
    const r = this.buffer("params", name);
    return Math.sqrt(this.engine.k.sum_squares(r.ptr, r.length));
  }

  /** L2 norm of all parameters together (f64 accumulation). */
  weightNorm(): number {
    const r = this.buffers.params;
    return Math.sqrt(this.engine.k.sum_squares(r.ptr, r.length));
  }
}
