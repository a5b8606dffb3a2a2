// The model as the host sees it: the parameter, gradient and AdamW moment buffers in WASM
// memory (one flat buffer each, laid out by params.ts), the pointer tables the core reads,
// and batches of activations. Forward and backward themselves run in assembly/model.ts.

import { CONTEXT, type Split } from "./data.js";
import type { Engine } from "./engine.js";
import { entryOf, paramLayout, PARAM_NAMES, type Dims, type ParamLayout, type ParamName } from "./params.js";

const DIMS_TABLE = 0;
const WEIGHTS_TABLE = 1;
const BATCH_TABLE = 2;

/** AdamW hyper-parameters (PyTorch's names, without the underscores). */
export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
}

/** A batch laid out in WASM memory: inputs, labels, activations (and their gradients). */
export class Batch {
  constructor(readonly n: number, readonly table: number, readonly ptrs: Readonly<Record<string, number>>) {}
}

export interface LossAndAccuracy {
  loss: number;
  correct: number;
}

export class Model {
  readonly layout: ParamLayout;
  readonly params: number;
  readonly grads: number;
  readonly adamM: number;
  readonly adamV: number;
  private readonly dimsTable: number;
  private readonly paramsTable: number;
  private readonly gradsTable: number;

  constructor(readonly engine: Engine, readonly dims: Dims) {
    this.layout = paramLayout(dims);
    const total = this.layout.total;
    this.params = engine.allocF32(total);
    this.grads = engine.allocF32(total);
    this.adamM = engine.allocF32(total);
    this.adamV = engine.allocF32(total);
    this.dimsTable = engine.table([dims.d_vocab, dims.d_model, dims.n_heads, dims.d_head, dims.d_mlp], DIMS_TABLE);
    this.paramsTable = engine.table(this.pointersIn(this.params), WEIGHTS_TABLE);
    this.gradsTable = engine.table(this.pointersIn(this.grads), WEIGHTS_TABLE);
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

  /** Lays out a batch over `split`; with `backward`, also the activation gradients. */
  newBatch(split: Split, backward: boolean): Batch {
    const { n } = split;
    const { d_vocab: dv, d_model: dm, n_heads: h, d_head: dh, d_mlp: dmlp } = this.dims;
    const hd = h * dh;
    // Field order = class Batch in assembly/model.ts; sizes in f32 (or i32) elements.
    const forward: [string, number][] = [
      ["tokens", n * CONTEXT], ["labels", n], ["x", n * CONTEXT * dm], ["q", n * hd],
      ["k", n * CONTEXT * hd], ["v", n * CONTEXT * hd], ["attn", n * h * CONTEXT], ["z", n * hd],
      ["resid_mid", n * dm], ["pre", n * dmlp], ["post", n * dmlp], ["resid_post", n * dm], ["logits", n * dv],
    ];
    const gradients: [string, number][] = [
      ["dlogits", n * dv], ["dresid_post", n * dm], ["dpost", n * dmlp], ["dresid_mid", n * dm],
      ["dz", n * hd], ["dq", n * hd], ["dk", n * CONTEXT * hd], ["dv", n * CONTEXT * hd], ["dx", n * CONTEXT * dm],
    ];
    const ptrs: Record<string, number> = {};
    for (const [name, size] of forward) ptrs[name] = this.engine.allocF32(size);
    for (const [name, size] of gradients) ptrs[name] = backward ? this.engine.allocF32(size) : 0;
    this.engine.i32(ptrs.tokens!, n * CONTEXT).set(split.tokens);
    this.engine.i32(ptrs.labels!, n).set(split.labels);
    const table = this.engine.table([n, ...forward.map(([k]) => ptrs[k]!), ...gradients.map(([k]) => ptrs[k]!)], BATCH_TABLE);
    return new Batch(n, table, ptrs);
  }

  forward(batch: Batch): void {
    this.engine.k.model_forward(this.dimsTable, this.paramsTable, batch.table);
  }

  /** Forward, then loss and number of correct predictions (no gradients). */
  evaluate(batch: Batch): LossAndAccuracy {
    this.forward(batch);
    return this.lossOf(batch, false);
  }

  /** Forward and backward: gradients of the mean loss are ADDED to the gradient buffer. */
  lossAndGrad(batch: Batch): LossAndAccuracy {
    if (batch.ptrs.dlogits === 0) throw new Error("this batch was laid out without gradients");
    this.forward(batch);
    const result = this.lossOf(batch, true);
    this.engine.k.model_backward(this.dimsTable, this.paramsTable, this.gradsTable, batch.table);
    return result;
  }

  private lossOf(batch: Batch, withGrad: boolean): LossAndAccuracy {
    const { k } = this.engine;
    const { logits, labels, dlogits } = batch.ptrs;
    const dv = this.dims.d_vocab;
    const loss = k.cross_entropy(logits!, labels!, batch.n, dv, withGrad ? dlogits! : 0);
    return { loss, correct: k.count_correct(logits!, labels!, batch.n, dv) };
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

  /** L2 norm of all parameters together (f64 accumulation). */
  weightNorm(): number {
    return Math.sqrt(this.engine.k.sum_squares(this.params, this.layout.total));
  }
}
