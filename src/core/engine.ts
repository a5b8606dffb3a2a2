// The thin typed binding to the WebAssembly core: instantiates the module over a memory the
// host owns, hands out buffers in it (a bump allocator: everything is laid out once per run,
// nothing is freed), and exposes the kernels with their pointer signatures.
// Portable: it takes the module's bytes (or a compiled module) from the caller, so Node
// reads them from a file and a browser fetches them.

import { instantiate } from "@assemblyscript/loader";

/** The exports of assembly/index.ts. Pointers are byte offsets into the shared memory. */
export interface Kernels {
  gemm_nn(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: boolean): void;
  gemm_nt(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: boolean): void;
  gemm_tn(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: boolean): void;
  dot(k: number, x: number, y: number): number;
  pack_panels(dst: number, b: number, k: number, n: number, bks: number, bns: number, stride: number): void;
  panels_size(k: number, n: number): number;
  gemm_nn_panels(m: number, n: number, k: number, a: number, lda: number, bp: number, c: number, ldc: number, accumulate: boolean): void;
  gemm_tn_panels(m: number, n: number, k: number, a: number, lda: number, bp: number, c: number, ldc: number, accumulate: boolean): void;
  exp_rows(out: number, inp: number, n: number): void;
  relu_forward(out: number, inp: number, n: number): void;
  relu_backward(dinp: number, dout: number, inp: number, n: number): void;
  cross_entropy(logits: number, labels: number, rows: number, n: number, dlogits: number, denominator: number): number;
  count_correct(logits: number, labels: number, rows: number, n: number): number;
  sum_squares(x: number, n: number): number;
  adamw_step(w: number, g: number, m: number, v: number, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, t: number): void;
  fill_normal(out: number, bits: number, n: number, std: number): void;
  model_forward(dims: number, weights: number, batch: number): void;
  model_backward(dims: number, weights: number, grads: number, batch: number): void;
  table_bytes(which: number): number;
  tables_forward_heads(dims: number, weights: number, tables: number): void;
  tables_forward_rows(dims: number, weights: number, tables: number, part: number, parts: number): void;
  tables_backward_rows(dims: number, weights: number, grads: number, tables: number, part: number, parts: number): void;
  tables_backward_heads(dims: number, weights: number, grads: number, tables: number): void;
  batch_forward(dims: number, tables: number, batch: number): void;
  fast_table_bytes(which: number): number;
  shard_loss_and_grad(dims: number, tables: number, batch: number, denominator: number, result: number): void;
  shard_evaluate(dims: number, tables: number, batch: number, result: number): void;
  table_grad_columns(dims: number, tables: number, batch: number, part: number, p0: number, p1: number, u0: number, u1: number): void;
  score_grads(dims: number, tables: number, batch: number, parts: number): void;
  dft_twiddles(cos: number, sin: number, n: number, kcount: number): void;
  dft_rows(outCos: number, outSin: number, x: number, rows: number, n: number, ldx: number, cos: number, sin: number, kcount: number): void;
  simd_peak(iterations: number, buffer: number): number;
  dft_cols(outCos: number, outSin: number, x: number, cols: number, n: number, ldx: number, cos: number, sin: number, kcount: number): void;
}

const PAGE = 65536;
/** 4 GiB, the most a 32-bit WebAssembly memory can hold (the `shared` build declares it). */
const MAX_PAGES = 65536;
/** The module's own static data lives below this address; host buffers start here. */
const HEAP_START = PAGE;
const ALIGN = 64;
/** Bytes left free after every buffer: edge tiles of the GEMMs read (never write) up to 7 floats past a row. */
const SLACK = 64;

export class Engine {
  private top = HEAP_START;

  private constructor(readonly memory: WebAssembly.Memory, readonly k: Kernels) {}

  /**
   * Instantiates the core from its .wasm bytes or compiled module, over a new memory, or
   * over `memory` (a worker attaching to the host's shared memory: it only runs kernels on
   * buffers the host laid out, and never allocates).
   */
  static async create(wasm: BufferSource | WebAssembly.Module, memory: WebAssembly.Memory = new WebAssembly.Memory({ initial: 2 })): Promise<Engine> {
    const { exports } = await instantiate<Record<string, unknown>>(wasm, { env: { memory } });
    return new Engine(memory, exports as unknown as Kernels);
  }

  /** A memory that workers can share (for the core's `shared` build). */
  static sharedMemory(): WebAssembly.Memory {
    return new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
  }

  /** Reserves `bytes` bytes (64-byte aligned, zero-filled) and returns the pointer. */
  alloc(bytes: number): number {
    const ptr = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = ptr + bytes + SLACK;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        throw new RangeError(`out of WebAssembly memory: need ${(end / 2 ** 20).toFixed(0)} MiB (a smaller p or frac needs less)`);
      }
    }
    this.top = end;
    return ptr;
  }

  allocF32(n: number): number {
    return this.alloc(n * 4);
  }

  // Views are made on each call: growing the memory detaches earlier ones.
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, n);
  }

  u32(ptr: number, n: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, n);
  }

  /**
   * Writes a table of 32-bit fields (one of the @unmanaged classes of assembly/) and checks
   * its size against what the module reports for that class.
   */
  table(fields: readonly number[], expectedBytes: number): number {
    const bytes = fields.length * 4;
    if (bytes !== expectedBytes) throw new Error(`the WebAssembly core expects a ${expectedBytes}-byte table, the host wrote ${bytes}: rebuild with \`npm run build\``);
    const ptr = this.alloc(bytes);
    this.u32(ptr, fields.length).set(fields);
    return ptr;
  }
}
