// The thin typed binding to the WebAssembly core: instantiates the module over a memory the
// host owns, lays out buffers in it as typed regions, writes the pointer tables the kernels
// read, and exposes the kernels with their pointer signatures. Allocation is an arena: a run
// marks where its buffers begin and releases them all when it ends, so a process that runs
// many runs (a sweep worker, a long-lived page) reuses the same memory.
// Portable: it takes the module's bytes (or a compiled module) from the caller, so Node
// reads them from a file, a browser fetches them and workerd imports the module.

import { instantiate } from "@assemblyscript/loader";
import { readLayouts, tableWords, type StructLayout, type StructName, type StructValues } from "./layout.js";
import { bytesPer, Region, type DType } from "./region.js";

/** The exports of assembly/index.ts. Pointers are byte offsets into the memory. */
export interface Kernels {
  gemm_nn(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: boolean): void;
  gemm_nt(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: boolean): void;
  gemm_tn(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: boolean): void;
  dot(k: number, x: number, y: number): number;
  pack_panels(dst: number, b: number, k: number, n: number, bks: number, bns: number, stride: number, width: number): void;
  panels_size(k: number, n: number, width: number): number;
  gemm_nn_panels(m: number, n: number, k: number, a: number, lda: number, bp: number, c: number, ldc: number, accumulate: boolean): void;
  gemm_nn_panels_gated(m: number, n: number, k: number, a: number, lda: number, bp: number, c: number, ldc: number, gate: number): void;
  gemm_tn_packing(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: boolean, scratch: number): void;
  pack_scratch_floats(m: number): number;
  exp_rows(out: number, inp: number, n: number): void;
  mathf_exp_rows(out: number, inp: number, n: number): void;
  relu_forward(out: number, inp: number, n: number): void;
  relu_backward(dinp: number, dout: number, inp: number, n: number): void;
  cross_entropy(logits: number, labels: number, rows: number, n: number, dlogits: number, denominator: number): number;
  cross_entropies(logits: number, labels: number, rows: number, n: number, dlogits: number, denominator: number, losses: number): void;
  count_correct(logits: number, labels: number, rows: number, n: number): number;
  sum_squares(x: number, n: number): number;
  adamw_step(w: number, g: number, m: number, v: number, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, t: number): void;
  adamw_step_at(w: number, g: number, m: number, v: number, n: number, hyper: number): void;
  fill_normal(out: number, bits: number, n: number, std: number): void;
  model_forward(dims: number, weights: number, batch: number): void;
  model_backward(dims: number, weights: number, grads: number, batch: number): void;
  tables_embedding(dims: number, weights: number, tables: number): void;
  tables_forward_head(dims: number, weights: number, tables: number, head: number): void;
  tables_forward_neurons(dims: number, weights: number, tables: number): void;
  tables_forward_rows(dims: number, weights: number, tables: number, part: number, parts: number): void;
  tables_backward_rows(dims: number, weights: number, grads: number, tables: number, part: number, parts: number, scratch: number): void;
  tables_backward_head(dims: number, weights: number, grads: number, tables: number, batch: number, head: number): void;
  tables_backward_embedding(dims: number, weights: number, grads: number, tables: number, part: number, parts: number): void;
  batch_forward(dims: number, tables: number, batch: number): void;
  shard_loss_and_grad(dims: number, tables: number, batch: number, denominator: number, correct: number, cuts: number, parts: number, uParts: number): void;
  shard_evaluate(dims: number, tables: number, batch: number, correct: number): void;
  neuron_logit_grads(dims: number, tables: number, batch: number, n0: number, n1: number, scratch: number): void;
  table_grad_columns(dims: number, tables: number, batch: number, p0: number, p1: number, u0: number, u1: number): void;
  mlp_stride(d_mlp: number): number;
  dft_twiddles(cos: number, sin: number, n: number, kcount: number): void;
  dft_rows(outCos: number, outSin: number, x: number, rows: number, n: number, ldx: number, cos: number, sin: number, kcount: number): void;
  dft_cols(outCos: number, outSin: number, x: number, cols: number, n: number, ldx: number, cos: number, sin: number, kcount: number): void;
  simd_peak(iterations: number, buffer: number): number;
}

const PAGE = 65536;
/** 4 GiB, the most a 32-bit WebAssembly memory can hold (the `shared` build declares it). */
const MAX_PAGES = 65536;
/** The module's own static data lives below this address; host buffers start here. */
const HEAP_START = PAGE;
const ALIGN = 64;
/** Bytes left free after every buffer: edge tiles of the GEMMs read (never write) up to 7 floats past a row. */
const SLACK = 64;

/** The engine could not lay out a buffer: the memory cannot grow that far. */
export class MemoryError extends Error {}

export class Engine {
  private top = HEAP_START;
  /** Arena marks, innermost last: release() gives back everything above the innermost. */
  private readonly marks: number[] = [];

  private constructor(readonly memory: WebAssembly.Memory, readonly k: Kernels, private readonly layouts: Record<StructName, StructLayout>) {}

  /**
   * Instantiates the core from its .wasm bytes or compiled module, over a new memory, or
   * over `memory` (a worker attaching to the host's shared memory: it only runs kernels on
   * buffers the host laid out, and never allocates).
   */
  static async create(wasm: BufferSource | WebAssembly.Module, memory: WebAssembly.Memory = new WebAssembly.Memory({ initial: 2 })): Promise<Engine> {
    const { exports } = await instantiate<Record<string, unknown>>(wasm, { env: { memory } });
    return new Engine(memory, exports as unknown as Kernels, readLayouts(exports));
  }

  /** A memory that workers can share (for the core's `shared` build). */
  static sharedMemory(): WebAssembly.Memory {
    return new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
  }

  /** A zero-filled region of `length` elements, 64-byte aligned. */
  alloc<D extends DType>(dtype: D, length: number): Region<D> {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`cannot allocate ${length} ${dtype}`);
    const ptr = Math.ceil(this.top / ALIGN) * ALIGN;
    const bytes = length * bytesPer(dtype);
    const end = ptr + bytes + SLACK;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        throw new MemoryError(`out of WebAssembly memory: need ${(end / 2 ** 20).toFixed(0)} MiB (a smaller p, frac or model needs less)`);
      }
    }
    // Memory given back by release() is dirty, and every region starts zeroed.
    new Uint8Array(this.memory.buffer, ptr, bytes + SLACK).fill(0);
    this.top = end;
    return new Region(this.memory, ptr, length, dtype);
  }

  /** Writes one of the core's pointer tables (field values by name) and returns it. */
  struct<S extends StructName>(name: S, values: StructValues<S>): Region<"u32"> {
    const words = tableWords(name, this.layouts[name], values);
    const table = this.alloc("u32", words.length);
    table.write(words, name);
    return table;
  }

  /** The byte offset of each field of one table, as the module reports it. */
  layout(name: StructName): StructLayout {
    return this.layouts[name];
  }

  /** Bytes laid out so far (the arena's top). */
  get used(): number {
    return this.top;
  }

  /** Marks the arena: release(mark) gives back everything allocated after this. */
  mark(): number {
    this.marks.push(this.top);
    return this.marks.length - 1;
  }

  /** Gives back everything allocated since `mark`, which must be the innermost mark still held. */
  release(mark: number): void {
    if (mark !== this.marks.length - 1) {
      throw new Error(`memory released out of order (mark ${mark}, innermost ${this.marks.length - 1}): release the later run first`);
    }
    this.top = this.marks.pop()!;
  }

  /** Runs `fn`, then gives back whatever it allocated (its result must not live in WebAssembly memory). */
  async scoped<T>(fn: () => Promise<T>): Promise<T> {
    const mark = this.mark();
    try {
      return await fn();
    } finally {
      this.release(mark);
    }
  }
}
