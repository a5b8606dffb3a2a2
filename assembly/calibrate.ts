// A calibration kernel for the benchmarks: the machine's WebAssembly SIMD peak for the
// pattern of a GEMM micro-kernel, c_k += a_k * x, on 8 accumulators kept in registers (the
// most V8 keeps live) and no memory traffic. Only the add is on each accumulator's
// dependency chain, as in the GEMM tiles; x changes every iteration so the products
// cannot be hoisted. Counts 64 flops per iteration (8 f32x4 mul + 8 f32x4 add).
// Returns a value so nothing is optimised away.

export function simd_peak(iterations: i32): f32 {
  const a0 = f32x4.splat(1e-9), a1 = f32x4.splat(2e-9), a2 = f32x4.splat(3e-9), a3 = f32x4.splat(4e-9);
  const a4 = f32x4.splat(5e-9), a5 = f32x4.splat(6e-9), a6 = f32x4.splat(7e-9), a7 = f32x4.splat(8e-9);
  const step = f32x4.splat(1e-7);
  let x = f32x4.splat(1);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0);
  for (let i = 0; i < iterations; i++) {
    c0 = f32x4.add(c0, f32x4.mul(a0, x)); c1 = f32x4.add(c1, f32x4.mul(a1, x));
    c2 = f32x4.add(c2, f32x4.mul(a2, x)); c3 = f32x4.add(c3, f32x4.mul(a3, x));
    c4 = f32x4.add(c4, f32x4.mul(a4, x)); c5 = f32x4.add(c5, f32x4.mul(a5, x));
    c6 = f32x4.add(c6, f32x4.mul(a6, x)); c7 = f32x4.add(c7, f32x4.mul(a7, x));
    x = f32x4.add(x, step);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0);
}
