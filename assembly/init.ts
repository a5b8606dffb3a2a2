// Gaussian samples from uniform bits (Box-Muller). The generator itself (MT19937) lives
// in src/core/rng.ts; the transcendental math is done here because WebAssembly code gives
// the same bits on every engine and machine, while JavaScript's Math.log/cos need not.

/** out[i] = std * N(0,1) for i < n, from n (rounded up to even) u32 words of `bits`. */
export function fill_normal(out: usize, bits: usize, n: i32, std: f64): void {
  for (let i = 0; i < n; i += 2) {
    // Two 32-bit words -> u1 in (0, 1], u2 in [0, 1).
    const u1 = (<f64>load<u32>(bits + (<usize>i << 2)) + 1.0) / 4294967296.0;
    const u2 = <f64>load<u32>(bits + (<usize>(i + 1) << 2)) / 4294967296.0;
    const radius = Math.sqrt(-2.0 * Math.log(u1));
    const angle = 2.0 * Math.PI * u2;
    store<f32>(out + (<usize>i << 2), <f32>(std * radius * Math.cos(angle)));
    if (i + 1 < n) store<f32>(out + (<usize>(i + 1) << 2), <f32>(std * radius * Math.sin(angle)));
  }
}
