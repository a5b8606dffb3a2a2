// The 2-D Fourier transform over inputs (a, b) of a tensor x[a, b, m] (m values per input:
// logits, neuron activations), in the orthonormal basis:  F[i, j, :] = sum_{a,b} B[i, a] B[j, b] x[a, b, :]
// and its inverse. Two passes of GEMMs on the core (along a, then along b), in float32.

import type { Engine } from "../wasm/engine.js";
import type { Region } from "../wasm/region.js";
import type { FourierBasis } from "./basis.js";

export class Transform2d {
  private readonly B: Region<"f32">;
  private readonly x: Region<"f32">;
  private readonly y: Region<"f32">;

  /** Laid out once for tensors of up to `maxM` values per input (its buffers live as long as it does). */
  constructor(readonly engine: Engine, readonly basis: FourierBasis, readonly maxM: number) {
    this.B = engine.alloc("f32", basis.p * basis.p);
    this.B.write(basis.basis);
    this.x = engine.alloc("f32", basis.p * basis.p * maxM);
    this.y = engine.alloc("f32", basis.p * basis.p * maxM);
  }

  /** F[i, j, :] from x[a, b, :] (both [p, p, m], row-major). */
  forward(x: Float32Array, m: number): Float32Array {
    return this.run(x, m, false);
  }

  /** x[a, b, :] from F[i, j, :]. */
  inverse(F: Float32Array, m: number): Float32Array {
    return this.run(F, m, true);
  }

  private run(input: Float32Array, m: number, inverse: boolean): Float32Array {
    const p = this.basis.p, k = this.engine.k, size = p * p * m;
    if (input.length !== size) throw new RangeError(`expected ${p} x ${p} x ${m} values, got ${input.length}`);
    if (m > this.maxM) throw new RangeError(`this transform takes at most ${this.maxM} values per input, got ${m}`);
    const x = this.x.at(0, size), y = this.y.at(0, size);
    x.write(input);
    // forward: B · X along the first axis; inverse: Bᵀ · X (B is orthogonal).
    const mul = inverse ? k.gemm_tn.bind(k) : k.gemm_nn.bind(k);
    mul(p, p * m, p, this.B.ptr, p, x.ptr, p * m, y.ptr, p * m, false);
    for (let i = 0; i < p; i++) mul(p, m, p, this.B.ptr, p, y.at(i * p * m).ptr, m, x.at(i * p * m).ptr, m, false);
    return x.read();
  }
}
