// The real orthonormal Fourier basis over Z_p, in the order of Nanda et al. and
// TransformerLens: const, cos 1, sin 1, ..., cos K, sin K (K = floor(p/2); for odd p that is
// exactly p vectors). Row i of the [p, p] matrix is basis vector i over t = 0..p-1. The 2-D
// basis over (a, b) is the outer product of two rows.

import type { Engine } from "../wasm/engine.js";

export interface FourierBasis {
  readonly p: number;
  readonly labels: string[];
  /** [p, p]: basis[i * p + t]; rows have unit norm. */
  readonly basis: Float64Array;
  /** The frequency of basis vector i (0 for the constant). */
  readonly frequency: Int32Array;
}

/** Built from the core's exact-angle twiddles (the same values on every engine). */
export function fourierBasis(engine: Engine, p: number): FourierBasis {
  if (p % 2 === 0) throw new RangeError(`the Fourier basis here is for odd p, got ${p}`);
  const K = (p - 1) / 2;
  const kcount = K + 1;
  const cos = engine.alloc("f32", kcount * p), sin = engine.alloc("f32", kcount * p);
  engine.k.dft_twiddles(cos.ptr, sin.ptr, p, kcount);
  const c = cos.view(), s = sin.view();
  const basis = new Float64Array(p * p);
  const frequency = new Int32Array(p);
  const labels = ["const"];
  basis.fill(1 / Math.sqrt(p), 0, p);
  const scale = Math.sqrt(2 / p);
  for (let k = 1; k <= K; k++) {
    labels.push(`cos ${k}`, `sin ${k}`);
    frequency[2 * k - 1] = k;
    frequency[2 * k] = k;
    for (let t = 0; t < p; t++) {
      basis[(2 * k - 1) * p + t] = scale * c[k * p + t]!;
      basis[2 * k * p + t] = scale * s[k * p + t]!;
    }
  }
  return { p, labels, basis, frequency };
}
