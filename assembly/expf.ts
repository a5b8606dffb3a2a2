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

// ---- Mathf.exp on four lanes, to the bit ----

// musl's exp2f table, as AssemblyScript's Mathf.exp uses it: bits(2^(i/32)) - (i << 47).
const EXP2F_TAB = memory.data<u64>([
  0x3FF0000000000000, 0x3FEFD9B0D3158574, 0x3FEFB5586CF9890F, 0x3FEF9301D0125B51,
  0x3FEF72B83C7D517B, 0x3FEF54873168B9AA, 0x3FEF387A6E756238, 0x3FEF1E9DF51FDEE1,
  0x3FEF06FE0A31B715, 0x3FEEF1A7373AA9CB, 0x3FEEDEA64C123422, 0x3FEECE086061892D,
  0x3FEEBFDAD5362A27, 0x3FEEB42B569D4F82, 0x3FEEAB07DD485429, 0x3FEEA47EB03A5585,
  0x3FEEA09E667F3BCD, 0x3FEE9F75E8EC5F74, 0x3FEEA11473EB0187, 0x3FEEA589994CCE13,
  0x3FEEACE5422AA0DB, 0x3FEEB737B0CDC5E5, 0x3FEEC49182A3F090, 0x3FEED503B23E255D,
  0x3FEEE89F995AD3AD, 0x3FEEFF76F2FB5E47, 0x3FEF199BDD85529C, 0x3FEF3720DCEF9069,
  0x3FEF5818DCFBA487, 0x3FEF7C97337B9B5F, 0x3FEFA4AFA2A490DA, 0x3FEFD0765B6E4540,
]);

/**
 * e^x per lane, the floats Mathf.exp gives (AssemblyScript's port of musl's expf: x 32/ln 2 =
 * k + r, 2^(k/32) from a 32-entry table times a cubic in r, all in f64, then rounded to f32;
 * every step IEEE, so two lanes of f64 give the scalar's bits). Lanes at or beyond |x| = 88
 * and NaNs, where the scalar takes special paths, go to Mathf.exp itself.
 */
@inline export function mathf_exp_f32x4(x: v128): v128 {
  const special = i32x4.ge_u(v128.and(i32x4.shr_u(x, 20), i32x4.splat(0x7FF)), i32x4.splat(0x42B));
  if (v128.any_true(special)) return mathf_exp_lanes(x);
  const lo = expf_f64x2(f64x2.promote_low_f32x4(x)), hi = expf_f64x2(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)));
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

// Mathf.exp's path for |x| < 88 on two f64 lanes (util/math.ts expf_lut, the same operations).
@inline function expf_f64x2(xd: v128): v128 {
  const N: f64 = 32, shift = reinterpret<f64>(0x4338000000000000);
  const z = f64x2.mul(f64x2.splat(reinterpret<f64>(0x3FF71547652B82FE) * N), xd);
  const kd = f64x2.add(z, f64x2.splat(shift));
  const r = f64x2.sub(z, f64x2.sub(kd, f64x2.splat(shift)));
  // 2^(k/32): the table's entry for k % 32, k's high bits added into the exponent
  const t0 = load<u64>(EXP2F_TAB + ((<usize>i64x2.extract_lane(kd, 0) & 31) << 3));
  const t1 = load<u64>(EXP2F_TAB + ((<usize>i64x2.extract_lane(kd, 1) & 31) << 3));
  const s = i64x2.add(i64x2.replace_lane(i64x2.splat(t0), 1, t1), i64x2.shl(kd, 47));
  const c = f64x2.add(f64x2.mul(f64x2.splat(reinterpret<f64>(0x3FAC6AF84B912394) / N / N / N), r), f64x2.splat(reinterpret<f64>(0x3FCEBFCE50FAC4F3) / N / N));
  let y = f64x2.add(f64x2.mul(f64x2.splat(reinterpret<f64>(0x3FE62E42FF0C52D6) / N), r), f64x2.splat(1));
  y = f64x2.add(y, f64x2.mul(c, f64x2.mul(r, r)));
  return f64x2.mul(y, s);
}

function mathf_exp_lanes(x: v128): v128 {
  let y = f32x4.splat(Mathf.exp(f32x4.extract_lane(x, 0)));
  y = f32x4.replace_lane(y, 1, Mathf.exp(f32x4.extract_lane(x, 1)));
  y = f32x4.replace_lane(y, 2, Mathf.exp(f32x4.extract_lane(x, 2)));
  return f32x4.replace_lane(y, 3, Mathf.exp(f32x4.extract_lane(x, 3)));
}

/** out[i] = Mathf.exp(inp[i]) for n floats, four lanes at a time (mathf_exp_f32x4, exported for its test). */
export function mathf_exp_rows(out: usize, inp: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), mathf_exp_f32x4(v128.load(inp + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), Mathf.exp(load<f32>(inp + (<usize>i << 2))));
}
