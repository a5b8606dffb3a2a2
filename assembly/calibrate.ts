// A calibration kernel for the benchmarks: the rate of the GEMM micro-kernel itself (the 4x8
// tile of gemm.ts, 8 f32x4 accumulators) on operands that sit in L1, an A block [256][4] and
// a B panel [256][8] (12 KiB, zero-filled by the host), run `iterations` times. This is the
// most the products of gemm.ts can reach on this machine; their fraction of it is what cache
// misses, edges and call overheads cost. 64 * 256 flops per iteration.

import { tile_4x8 } from "./gemm";

export const CALIBRATION_KC: i32 = 256;

export function simd_peak(iterations: i32, buffer: usize): f32 {
  const a = buffer, b = buffer + (<usize>CALIBRATION_KC << 4), c = b + (<usize>CALIBRATION_KC << 5);
  for (let i = 0; i < iterations; i++) tile_4x8(CALIBRATION_KC, a, 1, 4, b, 8, c, 8, 8, 4, 0, false);
  return load<f32>(c);
}
