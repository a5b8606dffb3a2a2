// Matrix products over row-major f32 matrices the host laid out (BLAS conventions:
// pointers are byte addresses, leading dimensions count elements).
//
//   gemm_nn: C[M,N] (+)= A[M,K]   · B[K,N]
//   gemm_tn: C[M,N] (+)= A[K,M]ᵀ  · B[K,N]     (weight gradients: activationsᵀ · upstream)
//   gemm_nt: C[M,N] (+)= A[M,K]   · B[N,K]ᵀ    (x · Wᵀ with W stored [out, in] as in PyTorch)
//
// `accumulate` adds into C instead of overwriting it, so backward can sum several
// contributions into one gradient buffer without a separate add pass.
//
// NN and TN, with B row-major or packed in 8-column panels, share one register-blocked
// kernel (4 rows x 8 columns = 8 f32x4 accumulators, the most V8 keeps in registers, see
// docs/wasm.md) and one driver that only differ in how A(i, k) and B(k, j) are addressed;
// NT is a dot-product kernel (2 rows of A x 4 rows of B) vectorised along K. K is cut into
// blocks of KC so a block of 8 columns of B stays in cache while all rows of A pass over it.
// B may come packed in 8-column panels (pack_panels), and a transposed A with long rows may be
// packed a KC block at a time into 4-row panels in a caller's scratch: contiguous operands,
// the same products summed in the same order.
// A column edge (N not a multiple of 8, e.g. d_vocab = 102) runs the same 4x8 tile and
// stores only its valid columns: it reads up to 7 floats past a row of B or C, which the
// host allows for by leaving slack after every buffer (src/core/wasm/engine.ts).

const KC: i32 = 256;

@inline function ld(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

@inline function st(p: usize, i: i32, x: f32): void {
  store<f32>(p + (<usize>i << 2), x);
}

@inline function ldv(p: usize, i: i32): v128 {
  return v128.load(p + (<usize>i << 2));
}

@inline function stv(p: usize, i: i32, x: v128): void {
  v128.store(p + (<usize>i << 2), x);
}

/**
 * Packs B[K, N] (element (k, j) at b[k*bks + j*bns]: row-major or transposed) into panels of
 * `width` (4 or 8) columns, zero-padded: panel p holds rows k of columns width*p.. at
 * dst[(p*stride + k)*width ..], stride >= K the rows per panel (a larger stride packs a slice
 * of a taller B's rows, offset by the caller). The layout the *_panels products stream
 * through: B in panels of 8, and A (packed as Aᵀ) in panels of 4 rows.
 */
export function pack_panels(dst: usize, b: usize, k: i32, n: i32, bks: i32, bns: i32, stride: i32, width: i32): void {
  const panels = (n + width - 1) / width;
  // Four rows at a time, so every panel gets whole cache lines (4 x width floats) at once
  // while the four source rows are read in order.
  for (let k0 = 0; k0 < k; k0 += 4) {
    const k1 = min(k0 + 4, k);
    for (let p = 0; p < panels; p++) {
      const j0 = p * width, full = bns == 1 && j0 + width <= n;
      for (let kk = k0; kk < k1; kk++) {
        const out = dst + (<usize>((p * stride + kk) * width) << 2);
        const src = b + (<usize>(kk * bks + j0 * bns) << 2);
        if (full) {
          // contiguous source: whole vectors
          for (let c = 0; c < width; c += 4) stv(out, c, ldv(src, c));
        } else {
          for (let c = 0; c < width; c++) st(out, c, j0 + c < n ? ld(src, c * bns) : 0);
        }
      }
    }
  }
}

/** Floats pack_panels writes for an N-column B with K rows, in panels of `width`. */
export function panels_size(k: i32, n: i32, width: i32): i32 {
  return (n + width - 1) / width * k * width;
}

/**
 * C (+)= A · B with A[M,K] (row stride lda) and B[K, N] packed by pack_panels (width 8,
 * stride K): each 8-column panel is read contiguously (32 bytes per k) while every row block
 * of A passes over it. Sums exactly as gemm_nn does.
 */
export function gemm_nn_panels(m: i32, n: i32, k: i32, a: usize, lda: i32, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  blocked(m, n, k, a, lda, 1, bp, 8, k, c, ldc, accumulate, 0, 0);
}

/**
 * C = A · B as gemm_nn_panels, then 0 wherever `gate` (a matrix shaped and strided like C)
 * is not above 0: the backward of a ReLU whose output is `gate`, done as C is stored (the
 * same floats as the product and relu_backward one after the other).
 */
export function gemm_nn_panels_gated(m: i32, n: i32, k: i32, a: usize, lda: i32, bp: usize, c: usize, ldc: i32, gate: usize): void {
  blocked(m, n, k, a, lda, 1, bp, 8, k, c, ldc, false, 0, gate);
}

/**
 * C (+)= Aᵀ · B with A stored [K,M] (row stride lda). Each block of KC rows of A is first
 * packed into `scratch` (pack_scratch_floats(M) floats) in panels of 4, so a tile's four rows
 * are 16 contiguous bytes per k: with long rows, the plain tile would take a cache line per k
 * and rows a power of two apart share a few cache sets. Sums exactly as gemm_tn does.
 */
export function gemm_tn_packing(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
                                c: usize, ldc: i32, accumulate: bool, scratch: usize): void {
  blocked(m, n, k, a, 1, lda, b, ldb, 1, c, ldc, accumulate, scratch, 0);
}

/** Floats of the scratch gemm_tn_packing needs for M rows. */
export function pack_scratch_floats(m: i32): i32 {
  return panels_size(KC, m, 4);
}

/** C (+)= A · B with A[M,K] (row stride lda). */
export function gemm_nn(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
                        c: usize, ldc: i32, accumulate: bool): void {
  blocked(m, n, k, a, lda, 1, b, ldb, 1, c, ldc, accumulate, 0, 0);
}

/** C (+)= Aᵀ · B with A stored [K,M] (row stride lda). */
export function gemm_tn(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
                        c: usize, ldc: i32, accumulate: bool): void {
  blocked(m, n, k, a, 1, lda, b, ldb, 1, c, ldc, accumulate, 0, 0);
}

// C[i, j] (+)= sum_k A(i, k) · B(k, j) with A(i, k) = a[i*ais + k*aks] and B(k, j) =
// b[k*bks + j*bjs] for j a multiple of 8, the 8 columns from there contiguous: row-major B
// has (bks, bjs) = (ldb, 1), B in panels (8, K). For each block of KC k and each 8 columns
// of B, every 4 rows of A pass over them. With `scratch`, each block of A is first packed
// there in panels of 4 rows: the same products, summed in the same order. With `gate`, every
// store of C keeps only the entries where the gate (strided like C) is above 0.
function blocked(m: i32, n: i32, k: i32, a: usize, ais: i32, aks: i32, b: usize, bks: i32, bjs: i32,
                 c: usize, ldc: i32, accumulate: bool, scratch: usize, gate: usize): void {
  // A C that starts from zero and takes a single block of K is not zeroed first: its tiles add
  // their sums to zero vectors, the same 0 + x, without a pass over C and the reloads.
  const fresh = !accumulate && k <= KC;
  if (!accumulate && !fresh) zero_matrix(c, m, n, ldc);
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = min(KC, k - k0);
    let ak = a + (<usize>(k0 * aks) << 2), a_is = ais, a_ks = aks, a_blk = 4 * ais;
    if (scratch) {
      // A(i, k0 + kk) = ak[kk*aks + i*ais] -> scratch[((i/4)*kc + kk)*4 + i%4]
      pack_panels(scratch, ak, kc, m, aks, ais, kc, 4);
      ak = scratch; a_is = 1; a_ks = 4; a_blk = 4 * kc;
    }
    for (let j = 0; j < n; j += 8) {
      const bkj = b + (<usize>(k0 * bks + j * bjs) << 2);
      const cols = min(8, n - j);
      let i = 0;
      for (; i + 4 <= m; i += 4) tile_4x8(kc, ak + (<usize>((i >> 2) * a_blk) << 2), a_is, a_ks, bkj, bks, c + (<usize>(i * ldc + j) << 2), ldc, cols, 4, gated(gate, i * ldc + j), fresh);
      // The last m % 4 rows one at a time: the same tile with all four rows on that row of A
      // and C (row strides 0), storing only the first, so every element is summed the same way.
      for (; i < m; i++) tile_4x8(kc, ak + (<usize>((i >> 2) * a_blk + (i & 3) * a_is) << 2), 0, a_ks, bkj, bks, c + (<usize>(i * ldc + j) << 2), 0, cols, 1, gated(gate, i * ldc + j), fresh);
    }
  }
}

// Element `index` of the gate, or 0 (none).
@inline function gated(gate: usize, index: i32): usize {
  return gate ? gate + (<usize>index << 2) : 0;
}

// The 4x8 micro-kernel: C[0..rows, 0..cols] += sum_k A(r, k) B[k, 0..8], cols <= 8, rows 4 or 1
// (`fresh`: C is not read, the sums are added to 0); with a gate (not 0), each entry of C is
// then kept only where the gate's is above 0.
// The block's sum starts from zero and is added to C at the end (blocked summation: a long K
// accumulates rounding over KC terms and K/KC blocks, not over K terms). Pointers advance by
// constant strides so the loop body is loads and arithmetic only.
@inline export function tile_4x8(kc: i32, a: usize, ais: i32, aks: i32, b: usize, ldb: i32, c: usize, ldc: i32, cols: i32, rows: i32, gate: usize, fresh: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const r1 = <usize>ais << 2, r2 = r1 << 1, r3 = r1 + r2;
  const a_step = <usize>aks << 2, b_step = <usize>ldb << 2;
  let pa = a, pb = b;
  const end = b + <usize>kc * b_step;
  while (pb < end) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa + r1);
    const a2 = v128.load32_splat(pa + r2), a3 = v128.load32_splat(pa + r3);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0)); c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0)); c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    pa += a_step;
    pb += b_step;
  }
  const row = <usize>ldc << 2;
  add_row(c, c00, c01, cols, gate, fresh);
  if (rows == 1) return;
  add_row(c + row, c10, c11, cols, gate ? gate + row : 0, fresh);
  add_row(c + 2 * row, c20, c21, cols, gate ? gate + 2 * row : 0, fresh);
  add_row(c + 3 * row, c30, c31, cols, gate ? gate + 3 * row : 0, fresh);
}

// C[0..cols] += [lo, hi] (the first `cols` <= 8 lanes; `fresh`: C = 0 + [lo, hi], C unread),
// then with a gate (not 0) 0 where the gate is not above 0.
@inline function add_row(c: usize, lo: v128, hi: v128, cols: i32, gate: usize, fresh: bool): void {
  const zero = f32x4.splat(0);
  let x = f32x4.add(fresh ? zero : ldv(c, 0), lo), y = f32x4.add(fresh ? zero : ldv(c, 4), hi);
  if (gate) {
    x = v128.and(x, f32x4.gt(ldv(gate, 0), zero));
    y = v128.and(y, f32x4.gt(ldv(gate, 4), zero));
  }
  store_row(c, x, y, cols);
}

// Stores the first `cols` (<= 8) lanes of the 8-float row [lo, hi]: two vectors when whole.
@inline export function store_row(c: usize, lo: v128, hi: v128, cols: i32): void {
  if (cols == 8) {
    stv(c, 0, lo);
    stv(c, 4, hi);
  } else {
    store_cols(c, lo, hi, cols);
  }
}

// Stores the first `cols` (< 8) lanes of the 8-float row [lo, hi].
@inline function store_cols(c: usize, lo: v128, hi: v128, cols: i32): void {
  if (cols >= 4) {
    stv(c, 0, lo);
    store_lanes(c + 16, hi, cols - 4);
  } else {
    store_lanes(c, lo, cols);
  }
}

// Stores the first `count` (< 4) lanes of v.
@inline export function store_lanes(c: usize, v: v128, count: i32): void {
  if (count > 0) st(c, 0, f32x4.extract_lane(v, 0));
  if (count > 1) st(c, 1, f32x4.extract_lane(v, 1));
  if (count > 2) st(c, 2, f32x4.extract_lane(v, 2));
}

/** C (+)= A · Bᵀ with A[M,K], B[N,K]. */
export function gemm_nt(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
                        c: usize, ldc: i32, accumulate: bool): void {
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const a0 = a + (<usize>(i * lda) << 2), a1 = a0 + (<usize>lda << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = b + (<usize>(j * ldb) << 2);
      dots_2x4(k, a0, a1, b0, ldb, c + (<usize>(i * ldc + j) << 2), ldc, accumulate);
    }
    for (; j < n; j++) {
      const bj = b + (<usize>(j * ldb) << 2);
      put(c, i * ldc + j, dot(k, a0, bj), accumulate);
      put(c, (i + 1) * ldc + j, dot(k, a1, bj), accumulate);
    }
  }
  for (; i < m; i++) {
    const ai = a + (<usize>(i * lda) << 2);
    for (let j = 0; j < n; j++) put(c, i * ldc + j, dot(k, ai, b + (<usize>(j * ldb) << 2)), accumulate);
  }
}

@inline function put(c: usize, idx: i32, x: f32, accumulate: bool): void {
  st(c, idx, accumulate ? ld(c, idx) + x : x);
}

// Eight dot products at once: rows a0, a1 of A against four consecutive rows of B.
@inline function dots_2x4(k: i32, a0: usize, a1: usize, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  const b1 = b + (<usize>ldb << 2), b2 = b1 + (<usize>ldb << 2), b3 = b2 + (<usize>ldb << 2);
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  let kk = 0;
  for (; kk + 4 <= k; kk += 4) {
    const x0 = ldv(a0, kk), x1 = ldv(a1, kk);
    const y0 = ldv(b, kk), y1 = ldv(b1, kk), y2 = ldv(b2, kk), y3 = ldv(b3, kk);
    s00 = f32x4.add(s00, f32x4.mul(x0, y0)); s01 = f32x4.add(s01, f32x4.mul(x0, y1));
    s02 = f32x4.add(s02, f32x4.mul(x0, y2)); s03 = f32x4.add(s03, f32x4.mul(x0, y3));
    s10 = f32x4.add(s10, f32x4.mul(x1, y0)); s11 = f32x4.add(s11, f32x4.mul(x1, y1));
    s12 = f32x4.add(s12, f32x4.mul(x1, y2)); s13 = f32x4.add(s13, f32x4.mul(x1, y3));
  }
  let r00 = hsum(s00), r01 = hsum(s01), r02 = hsum(s02), r03 = hsum(s03);
  let r10 = hsum(s10), r11 = hsum(s11), r12 = hsum(s12), r13 = hsum(s13);
  for (; kk < k; kk++) {
    const x0 = ld(a0, kk), x1 = ld(a1, kk);
    r00 += x0 * ld(b, kk); r01 += x0 * ld(b1, kk); r02 += x0 * ld(b2, kk); r03 += x0 * ld(b3, kk);
    r10 += x1 * ld(b, kk); r11 += x1 * ld(b1, kk); r12 += x1 * ld(b2, kk); r13 += x1 * ld(b3, kk);
  }
  put(c, 0, r00, accumulate); put(c, 1, r01, accumulate); put(c, 2, r02, accumulate); put(c, 3, r03, accumulate);
  put(c, ldc, r10, accumulate); put(c, ldc + 1, r11, accumulate); put(c, ldc + 2, r12, accumulate); put(c, ldc + 3, r13, accumulate);
}

/** Dot product of two contiguous f32 vectors of length k (SIMD lanes, then lanes summed). */
export function dot(k: i32, x: usize, y: usize): f32 {
  let s = f32x4.splat(0);
  let kk = 0;
  for (; kk + 4 <= k; kk += 4) s = f32x4.add(s, f32x4.mul(ldv(x, kk), ldv(y, kk)));
  let r = hsum(s);
  for (; kk < k; kk++) r += ld(x, kk) * ld(y, kk);
  return r;
}

/** The sum of the four lanes of v, in a fixed order. */
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

function zero_matrix(c: usize, m: i32, n: i32, ldc: i32): void {
  for (let i = 0; i < m; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>n << 2);
}
