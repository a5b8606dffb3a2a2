// The 2-D Fourier transform over inputs (a, b) of a tensor x[a, b, m] (m values per input:
// logits, neuron activations), in the orthonormal basis:  F[i, j, :] = sum_{a,b} B[i, a] B[j, b] x[a, b, :]
// and its inverse. Two passes of GEMMs on the core (along a, then along b), in float32.

import type { Engine } from "../engine.js";
import type { FourierBasis } from "./basis.js";

export class Transform2d {
  private readonly B: number;
  private buffers = { x: 0, y: 0, capacity: 0 };

  constructor(readonly engine: Engine, readonly basis: FourierBasis) {
    const p = basis.p;
    this.B = engine.allocF32(p * p);
    engine.f32(this.B, p * p).set(basis.basis);
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
    if (this.buffers.capacity < size) this.buffers = { x: this.engine.allocF32(size), y: this.engine.allocF32(size), capacity: size };
    const { x, y } = this.buffers;
    this.engine.f32(x, size).set(input);
    // forward: B · X along the first axis; inverse: Bᵀ · X (B is orthogonal).
    const mul = inverse ? k.gemm_tn.bind(k) : k.gemm_nn.bind(k);
    mul(p, p * m, p, this.B, p, x, p * m, y, p * m, false);
    for (let i = 0; i < p; i++) mul(p, m, p, this.B, p, y + 4 * i * p * m, m, x + 4 * i * p * m, m, false);
    return this.engine.f32(x, size).slice();
  }
}
