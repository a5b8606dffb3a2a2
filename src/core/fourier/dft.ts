// The real DFT over Z_n for analysis: the SIMD kernel of assembly/dft.ts for any n (p is
// prime), fft.js for power-of-two lengths. Results are frequency-major: cos[k * m + j] and
// sin[k * m + j] for frequency k = 0..floor(n/2) of the j-th transformed vector.

import FFT from "fft.js";
import type { Engine } from "../engine.js";

export interface Spectrum {
  readonly n: number;
  /** Frequencies 0..kcount-1, kcount = floor(n/2) + 1. */
  readonly kcount: number;
  /** How many vectors were transformed. */
  readonly m: number;
  readonly cos: Float32Array; // [kcount, m]
  readonly sin: Float32Array; // [kcount, m]
}

export const frequencyCount = (n: number): number => Math.floor(n / 2) + 1;

/** DFTs of length n on the WebAssembly core; the twiddle table is built once. */
export class Dft {
  readonly kcount: number;
  private readonly twCos: number;
  private readonly twSin: number;
  private out = { cos: 0, sin: 0, capacity: 0 };
  private input = { ptr: 0, capacity: 0 };

  constructor(readonly engine: Engine, readonly n: number) {
    this.kcount = frequencyCount(n);
    this.twCos = engine.allocF32(this.kcount * n);
    this.twSin = engine.allocF32(this.kcount * n);
    engine.k.dft_twiddles(this.twCos, this.twSin, n, this.kcount);
  }

  /** DFT along each of `rows` rows of length n at `ptr` (row stride ldx), in WASM memory. */
  ofRows(ptr: number, rows: number, ldx = this.n): Spectrum {
    this.reserveOutput(rows);
    this.engine.k.dft_rows(this.out.cos, this.out.sin, ptr, rows, this.n, ldx, this.twCos, this.twSin, this.kcount);
    return this.result(rows);
  }

  /** DFT along each of `cols` columns of an [n, cols] matrix at `ptr` (row stride ldx). */
  ofCols(ptr: number, cols: number, ldx = cols): Spectrum {
    this.reserveOutput(cols);
    this.engine.k.dft_cols(this.out.cos, this.out.sin, ptr, cols, this.n, ldx, this.twCos, this.twSin, this.kcount);
    return this.result(cols);
  }

  /** DFT along each row of a JS array [rows, n]. */
  ofArray(x: ArrayLike<number>, rows: number): Spectrum {
    if (x.length !== rows * this.n) throw new RangeError(`expected ${rows} x ${this.n} values, got ${x.length}`);
    if (this.input.capacity < x.length) this.input = { ptr: this.engine.allocF32(x.length), capacity: x.length };
    this.engine.f32(this.input.ptr, x.length).set(x);
    return this.ofRows(this.input.ptr, rows);
  }

  // Output buffers grow to the largest request and are reused (the engine never frees).
  private reserveOutput(m: number): void {
    const size = this.kcount * m;
    if (this.out.capacity < size) this.out = { cos: this.engine.allocF32(size), sin: this.engine.allocF32(size), capacity: size };
  }

  private result(m: number): Spectrum {
    const size = this.kcount * m;
    return { n: this.n, kcount: this.kcount, m, cos: this.engine.f32(this.out.cos, size).slice(), sin: this.engine.f32(this.out.sin, size).slice() };
  }
}

export const isPowerOfTwo = (n: number): boolean => n >= 2 && (n & (n - 1)) === 0;

/** The same transform with fft.js, for power-of-two n (float64 inside). */
export function fftRows(x: ArrayLike<number>, rows: number, n: number): Spectrum {
  if (!isPowerOfTwo(n)) throw new RangeError(`fft.js needs a power-of-two length, got ${n}`);
  const kcount = frequencyCount(n);
  const fft = new FFT(n);
  const input = new Array<number>(n);
  const out = fft.createComplexArray() as number[];
  const cos = new Float32Array(kcount * rows), sin = new Float32Array(kcount * rows);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < n; t++) input[t] = x[r * n + t]!;
    fft.realTransform(out, input);
    // X_k = sum_t x_t e^{-2 pi i k t / n}: real part = cos sum, imaginary part = -sin sum.
    for (let k = 0; k < kcount; k++) {
      cos[k * rows + r] = out[2 * k]!;
      sin[k * rows + r] = -out[2 * k + 1]!;
    }
  }
  return { n, kcount, m: rows, cos, sin };
}
