// The real DFT over Z_n for analysis: the SIMD kernel of assembly/dft.ts for any n (p is
// prime), fft.js for power-of-two lengths. Results are frequency-major: cos[k * m + j] and
// sin[k * m + j] for frequency k = 0..floor(n/2) of the j-th transformed vector.

import FFT from "fft.js";
import type { Engine } from "../wasm/engine.js";
import type { Region } from "../wasm/region.js";

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
  private readonly twCos: Region<"f32">;
  private readonly twSin: Region<"f32">;
  private out: { cos: Region<"f32">; sin: Region<"f32"> } | undefined;
  private input: Region<"f32"> | undefined;

  constructor(readonly engine: Engine, readonly n: number) {
    this.kcount = frequencyCount(n);
    this.twCos = engine.alloc("f32", this.kcount * n);
    this.twSin = engine.alloc("f32", this.kcount * n);
    engine.k.dft_twiddles(this.twCos.ptr, this.twSin.ptr, n, this.kcount);
  }

  /** DFT along each of `rows` rows of length n at the start of `x` (row stride ldx). */
  ofRows(x: Region<"f32">, rows: number, ldx = this.n): Spectrum {
    const out = this.reserveOutput(rows);
    this.engine.k.dft_rows(out.cos.ptr, out.sin.ptr, x.ptr, rows, this.n, ldx, this.twCos.ptr, this.twSin.ptr, this.kcount);
    return this.result(out, rows);
  }

  /** DFT along each of `cols` columns of an [n, cols] matrix at the start of `x` (row stride ldx). */
  ofCols(x: Region<"f32">, cols: number, ldx = cols): Spectrum {
    const out = this.reserveOutput(cols);
    this.engine.k.dft_cols(out.cos.ptr, out.sin.ptr, x.ptr, cols, this.n, ldx, this.twCos.ptr, this.twSin.ptr, this.kcount);
    return this.result(out, cols);
  }

  /** DFT along each row of a JS array [rows, n]. */
  ofArray(x: ArrayLike<number>, rows: number): Spectrum {
    if (x.length !== rows * this.n) throw new RangeError(`expected ${rows} x ${this.n} values, got ${x.length}`);
    if (!this.input || this.input.length < x.length) this.input = this.engine.alloc("f32", x.length);
    const input = this.input.at(0, x.length);
    input.write(x);
    return this.ofRows(input, rows);
  }

  // Output buffers grow to the largest request and are reused (they live as long as the run).
  private reserveOutput(m: number): { cos: Region<"f32">; sin: Region<"f32"> } {
    const size = this.kcount * m;
    if (!this.out || this.out.cos.length < size) this.out = { cos: this.engine.alloc("f32", size), sin: this.engine.alloc("f32", size) };
    return this.out;
  }

  private result(out: { cos: Region<"f32">; sin: Region<"f32"> }, m: number): Spectrum {
    const size = this.kcount * m;
    return { n: this.n, kcount: this.kcount, m, cos: out.cos.at(0, size).read(), sin: out.sin.at(0, size).read() };
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
