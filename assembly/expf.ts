// e^x on four float32 lanes (the softmax of the cross-entropy): Cody-Waite range reduction
// x = k ln 2 + r with |r| <= ln(2)/2, a degree-7 polynomial for e^r (Cephes' expf
// coefficients, within 2 ulp), and 2^k put straight into the exponent bits. Every step is
// plain IEEE float32 arithmetic, so the result is the same on every machine.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375; // ln 2 = LN2_HI + LN2_LO, LN2_HI exact in a few bits
const LN2_LO: f32 = -2.12194440e-4;
const MAX_X: f32 = 88.0;          // k <= 127: 2^k stays finite
const MIN_X: f32 = -87.33654;     // below, e^x is subnormal (< 2^-126): returned as 0

/** e^x per lane; 0 below -87.34 (subnormal results) and for NaN. */
@inline export function exp_f32x4(x: v128): v128 {
  const xc = f32x4.pmin(x, f32x4.splat(MAX_X)); // MAX_X < x ? MAX_X : x (NaN stays): x86's minps, where f32x4.min takes several instructions
  const k = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(k, f32x4.splat(LN2_HI))), f32x4.mul(k, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const er = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const pow2k = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(er, pow2k), f32x4.ge(x, f32x4.splat(MIN_X)));
}

/** out[i] = e^inp[i] for n floats (the kernel behind exp_f32x4, exported for its test). */
export function exp_rows(out: usize, inp: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), exp_f32x4(v128.load(inp + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), f32x4.extract_lane(exp_f32x4(f32x4.splat(load<f32>(inp + (<usize>i << 2)))), 0));
}
