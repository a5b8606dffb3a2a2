// A calibration kernel for the benchmarks: the machine's WebAssembly SIMD peak for exactly
// the arithmetic of a GEMM micro-kernel, with its operands in L1. Each iteration loads two
// f32x4 vectors b0, b1 from a small buffer (4 KiB, cycled; loads use their own ports) and
// updates 8 accumulators c_ij += a_i * b_j with 4 constant vectors a_i: 8 distinct
// products, nothing loop-invariant to hoist, 14 live vectors (V8 keeps up to 15 in
// registers). 64 flops per step; `iterations` steps (a multiple of 4). Returns a value so nothing is optimised away.

export function simd_peak(iterations: i32, buffer: usize): f32 {
  const a0 = f32x4.splat(1e-9), a1 = f32x4.splat(2e-9), a2 = f32x4.splat(3e-9), a3 = f32x4.splat(4e-9);
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  // Four steps per loop iteration, so the counter and address arithmetic are amortised.
  for (let i = 0; i < iterations; i += 4) {
    const p = buffer + ((<usize>i & 124) << 5); // 4 steps of 32 bytes, inside 4 KiB
    for (let u = 0; u < 4; u++) {
      const b0 = v128.load(p + (<usize>u << 5)), b1 = v128.load(p + (<usize>u << 5), 16);
      c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
      c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
      c20 = f32x4.add(c20, f32x4.mul(a2, b0)); c21 = f32x4.add(c21, f32x4.mul(a2, b1));
      c30 = f32x4.add(c30, f32x4.mul(a3, b0)); c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    }
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c00, c01), f32x4.add(c10, c11)), f32x4.add(f32x4.add(c20, c21), f32x4.add(c30, c31)));
  return f32x4.extract_lane(s, 0);
}
