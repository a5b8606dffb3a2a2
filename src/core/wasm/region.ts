// A typed region of WebAssembly memory: pointer, element count and element type. Every
// buffer the host lays out is one; kernels receive `region.ptr`, and sub-ranges are taken
// by element offset (`at`), so byte arithmetic lives here and nowhere else.

export type DType = "f32" | "f64" | "i32" | "u32";

export interface ArrayOf {
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
  u32: Uint32Array;
}

const ARRAY = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array } as const;

export const bytesPer = (dtype: DType): number => ARRAY[dtype].BYTES_PER_ELEMENT;

export class Region<D extends DType = DType> {
  constructor(readonly memory: WebAssembly.Memory, readonly ptr: number, readonly length: number, readonly dtype: D) {}

  get bytes(): number {
    return this.length * bytesPer(this.dtype);
  }

  /** The `length` elements from element `offset` on (to the end by default). */
  at(offset: number, length = this.length - offset): Region<D> {
    if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > this.length) {
      throw new RangeError(`[${offset}, ${offset + length}) is outside a region of ${this.length} ${this.dtype}`);
    }
    return new Region(this.memory, this.ptr + offset * bytesPer(this.dtype), length, this.dtype);
  }

  /** The same bytes as elements of another type. */
  as<E extends DType>(dtype: E): Region<E> {
    return new Region(this.memory, this.ptr, Math.floor(this.bytes / bytesPer(dtype)), dtype);
  }

  /**
   * A live view (made on each call: growing the memory detaches earlier ones). Reading it
   * after the region was released gives whatever was laid out there since.
   */
  view(): ArrayOf[D] {
    return new ARRAY[this.dtype](this.memory.buffer, this.ptr, this.length) as ArrayOf[D];
  }

  /** A copy of the contents, safe to keep. */
  read(): ArrayOf[D] {
    return this.view().slice() as ArrayOf[D];
  }

  write(data: ArrayLike<number>, what = "region"): void {
    if (data.length !== this.length) throw new RangeError(`${what}: expected ${this.length} values, got ${data.length}`);
    this.view().set(data);
  }

  fill(value: number): void {
    this.view().fill(value);
  }
}
