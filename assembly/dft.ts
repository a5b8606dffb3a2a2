// Real DFT of any length n (primes included: p = 97 has no radix-2 structure), batched over
// many rows, as products with a table of twiddles, so it runs on the SIMD GEMM kernels:
//
//   C[k, r] = sum_t x[r, t] cos(2 pi k t / n),   S[k, r] = sum_t x[r, t] sin(2 pi k t / n)
//
// O(n^2) per row, which for n ~ 100 and a few hundred rows is microseconds.

import { gemm_nn, gemm_nt } from "./gemm";

/**
 * Fills cos[k, t] = cos(2 pi k t / n) and sin[k, t] = sin(2 pi k t / n) for k < kcount,
 * t < n. The angle is reduced exactly (k t mod n) before the f64 cos/sin, so every entry
 * is accurate to f32 rounding, and identical on every machine.
 */
export function dft_twiddles(cos: usize, sin: usize, n: i32, kcount: i32): void {
  for (let k = 0; k < kcount; k++) {
    for (let t = 0; t < n; t++) {
      const angle = (2.0 * Math.PI * <f64>(<i32>((<i64>k * <i64>t) % <i64>n))) / <f64>n;
      const o = (<usize>(k * n + t)) << 2;
      store<f32>(cos + o, <f32>Math.cos(angle));
      store<f32>(sin + o, <f32>Math.sin(angle));
    }
  }
}

// Both transforms return frequency-major [kcount, m]: row k holds the coefficient of
// frequency k for each of the m rows (or columns) transformed.

/** DFT along each row of x [rows, n] (row stride ldx) -> C, S [kcount, rows]. */
export function dft_rows(outCos: usize, outSin: usize, x: usize, rows: i32, n: i32, ldx: i32, cos: usize, sin: usize, kcount: i32): void {
  gemm_nt(kcount, rows, n, cos, n, x, ldx, outCos, rows, false);
  gemm_nt(kcount, rows, n, sin, n, x, ldx, outSin, rows, false);
}

/** DFT along each column of x [n, cols] (row stride ldx) -> C, S [kcount, cols]. */
export function dft_cols(outCos: usize, outSin: usize, x: usize, cols: i32, n: i32, ldx: i32, cos: usize, sin: usize, kcount: i32): void {
  gemm_nn(kcount, cols, n, cos, n, x, ldx, outCos, cols, false);
  gemm_nn(kcount, cols, n, sin, n, x, ldx, outSin, cols, false);
}
