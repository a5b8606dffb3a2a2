// The model as the host sees it: the parameter, gradient and AdamW moment buffers in WASM
// memory (one flat buffer each, laid out by params.ts) and the pointer tables the core
// reads. How a loss and its gradients are computed is a Path's business (reference.ts:
// the literal model; fast.ts: the same mathematics through per-token tables).

import { CONTEXT, type Split } from "./data.js";
import type { Engine } from "./engine.js";
import { entryOf, paramLayout, PARAM_NAMES, type Dims, type ParamLayout, type ParamName } from "./params.js";

/** AdamW hyper-parameters (PyTorch's names). */
export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
}

export interface LossAndAccuracy {
  loss: number;
  correct: number;
}

/** One shard of a batch: its own pointer table over a slice of the batch's rows. */
export interface Shard {
  readonly n: number;
  readonly table: number;
  /** 16 bytes for the shard's results: loss sum (f64), correct count (i32). */
  readonly result: number;
}

/**
 * A batch laid out in WASM memory: a pointer table and the pointers it holds, by name.
 * `examples` are its examples in the order of its rows (a path may reorder a split).
 */
export class Batch {
  constructor(readonly examples: Split, readonly table: number, readonly ptrs: Readonly<Record<string, number>>, readonly shards: readonly Shard[] = []) {}

  get n(): number {
    return this.examples.n;
  }
}

/**
 * One way of computing logits, loss and gradients for a Model. Asynchronous because the
 * work may run on other threads; the results never depend on where it ran.
 */
export interface Path {
  readonly model: Model;
  /** Lays out a batch over `split`; with `backward`, also what its gradients need. */
  newBatch(split: Split, backward: boolean): Batch;
  /** Forward pass, loss and number of correct predictions (no gradients). */
  evaluate(batch: Batch): Promise<LossAndAccuracy>;
  /** Forward and backward: gradients of the mean loss are ADDED to the model's gradient buffer. */
  lossAndGrad(batch: Batch): Promise<LossAndAccuracy>;
}

export class Model {
  readonly layout: ParamLayout;
  readonly params: number;
  readonly grads: number;
  readonly adamM: number;
  readonly adamV: number;
  /** Pointer tables of assembly/model.ts: Dims, and Weights over params and over grads. */
  readonly dimsTable: number;
  readonly paramsTable: number;
  readonly gradsTable: number;

  constructor(readonly engine: Engine, readonly dims: Dims) {
    this.layout = paramLayout(dims);
    const total = this.layout.total;
    this.params = engine.allocF32(total);
    this.grads = engine.allocF32(total);
    this.adamM = engine.allocF32(total);
    this.adamV = engine.allocF32(total);
    this.dimsTable = engine.table([dims.d_vocab, dims.d_model, dims.n_heads, dims.d_head, dims.d_mlp], engine.k.table_bytes(0));
    this.paramsTable = engine.table(this.pointersIn(this.params), engine.k.table_bytes(1));
    this.gradsTable = engine.table(this.pointersIn(this.grads), engine.k.table_bytes(1));
  }

  private pointersIn(buffer: number): number[] {
    return PARAM_NAMES.map((name) => buffer + 4 * entryOf(this.layout, name).offset);
  }

  /** The live parameter tensor `name` (a view into WASM memory). */
  tensor(name: ParamName | string, buffer = this.params): Float32Array {
    const e = entryOf(this.layout, name);
    return this.engine.f32(buffer + 4 * e.offset, e.size);
  }

  gradient(name: ParamName | string): Float32Array {
    return this.tensor(name, this.grads);
  }

  setTensor(name: ParamName | string, data: ArrayLike<number>): void {
    const view = this.tensor(name);
    if (data.length !== view.length) throw new RangeError(`${name}: expected ${view.length} values, got ${data.length}`);
    view.set(data);
  }

  /**
   * Allocates the named fields of a batch (sizes in 4-byte elements; 0 = absent), copies the
   * split's tokens and labels in, and writes the pointer table in field order, then `extra`.
   */
  layBatch(split: Split, fields: readonly (readonly [string, number])[], expectedBytes: number, extra: readonly number[] = []): Batch {
    const ptrs: Record<string, number> = {
      tokens: this.engine.alloc(4 * split.n * CONTEXT),
      labels: this.engine.alloc(4 * split.n),
    };
    for (const [name, size] of fields) ptrs[name] = size > 0 ? this.engine.allocF32(size) : 0;
    this.engine.i32(ptrs.tokens!, split.n * CONTEXT).set(split.tokens);
    this.engine.i32(ptrs.labels!, split.n).set(split.labels);
    const table = this.engine.table([split.n, ptrs.tokens!, ptrs.labels!, ...fields.map(([name]) => ptrs[name]!), ...extra], expectedBytes);
    return new Batch(split, table, ptrs);
  }

  /** Mean loss (float64) and correct count from batch.logits; with `withGrad`, writes batch.dlogits. */
  lossOf(batch: Batch, withGrad: boolean): LossAndAccuracy {
    const { k } = this.engine;
    const { logits, labels, dlogits } = batch.ptrs;
    if (withGrad && !dlogits) throw new Error("this batch was laid out without gradients");
    const dv = this.dims.d_vocab;
    const loss = k.cross_entropy(logits!, labels!, batch.n, dv, withGrad ? dlogits! : 0, batch.n) / batch.n;
    return { loss, correct: k.count_correct(logits!, labels!, batch.n, dv) };
  }

  /** The logits of a batch after a forward pass, [n, d_vocab]. */
  logits(batch: Batch): Float32Array {
    return this.engine.f32(batch.ptrs.logits!, batch.n * this.dims.d_vocab);
  }

  zeroGrad(): void {
    this.engine.f32(this.grads, this.layout.total).fill(0);
  }

  /** One AdamW update (step t >= 1) of every parameter not in `frozen` (no update, no decay). */
  adamwStep(opt: AdamWConfig, t: number, frozen: ReadonlySet<string> = new Set()): void {
    for (const e of this.layout.entries) {
      if (frozen.has(e.name)) continue;
      const off = 4 * e.offset;
      this.engine.k.adamw_step(this.params + off, this.grads + off, this.adamM + off, this.adamV + off, e.size,
        opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay, t);
    }
  }

  /** L2 norm of one parameter tensor (f64 accumulation). */
  tensorNorm(name: ParamName | string): number {
    const e = entryOf(this.layout, name);
    return Math.sqrt(this.engine.k.sum_squares(this.params + 4 * e.offset, e.size));
  }

  /** L2 norm of all parameters together (f64 accumulation). */
  weightNorm(): number {
    return Math.sqrt(this.engine.k.sum_squares(this.params, this.layout.total));
  }
}
