// Fourier progress measures (docs/model.md, "Fourier lens"), as pure functions of a spectrum.
//
// For a weight matrix whose vectors are indexed by the p number tokens, transformed along
// that axis (Spectrum: coefficient of frequency k for each of m vectors):
//   mu_k = || sum_t W[:, t] cos(w_k t) ||,  nu_k = || sum_t W[:, t] sin(w_k t) ||,  k = 1..K
//   FFD = (#{k : mu_k / max mu > eta} + #{k : nu_k / max nu > eta}) / (2K)
//   FCR = mean over k of min(mu_k / nu_k, nu_k / mu_k)

import type { Spectrum } from "./dft.js";

export interface FrequencyNorms {
  /** mu[k - 1], nu[k - 1] for frequencies k = 1..K (the constant term is left out). */
  mu: Float64Array;
  nu: Float64Array;
}

export const DEFAULT_ETA = 0.5;

/** Per-frequency norms of the cos and sin coefficients, over the transformed vectors. */
export function frequencyNorms(s: Spectrum): FrequencyNorms {
  const K = Math.floor(s.n / 2);
  const mu = new Float64Array(K), nu = new Float64Array(K);
  for (let k = 1; k <= K; k++) {
    let c = 0, sn = 0;
    for (let j = 0; j < s.m; j++) {
      c += s.cos[k * s.m + j]! ** 2;
      sn += s.sin[k * s.m + j]! ** 2;
    }
    mu[k - 1] = Math.sqrt(c);
    nu[k - 1] = Math.sqrt(sn);
  }
  return { mu, nu };
}

/** Fourier Frequency Density: the share of (frequency, cos|sin) terms above eta of their max. Range [1/K, 1]. */
export function ffd({ mu, nu }: FrequencyNorms, eta = DEFAULT_ETA): number {
  const above = (x: Float64Array): number => {
    const mx = x.reduce((a, b) => Math.max(a, b), 0);
    return mx > 0 ? x.filter((v) => v / mx > eta).length : 0;
  };
  return (above(mu) + above(nu)) / (2 * mu.length);
}

/**
 * Fourier Coefficient Ratio: 1 when every frequency has balanced cos and sin parts, 0 when
 * each is all cos or all sin. Frequencies with neither (mu = nu = 0) are left out of the mean:
 * for them the ratio is undefined.
 */
export function fcr({ mu, nu }: FrequencyNorms): number {
  let sum = 0, count = 0;
  for (let i = 0; i < mu.length; i++) {
    const a = mu[i]!, b = nu[i]!;
    if (a === 0 && b === 0) continue;
    sum += a === 0 || b === 0 ? 0 : Math.min(a / b, b / a);
    count++;
  }
  return count > 0 ? sum / count : 0;
}
