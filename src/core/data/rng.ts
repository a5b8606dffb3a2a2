// The seeded generator: MT19937, bit-for-bit the one in CPython's `random` module.
// Matching Python lets our train/test split be exactly the one of the paper's code
// (`random.seed(seed); random.shuffle(pairs)`), which the golden fixtures check.
// Integer-only (Math.imul, >>> 0), so it gives the same bits on every JavaScript engine.

const N = 624;
const M = 397;

export class MersenneTwister {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  /** Seeds like Python's `random.seed(n)` for an integer n >= 0 (init_by_array of its 32-bit words). */
  constructor(seed: number | bigint) {
    this.seedByArray(wordsOf(BigInt(seed)));
  }

  /** A uniform 32-bit word (genrand_uint32). */
  nextU32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
        mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Python's getrandbits(k) for 1 <= k <= 32. */
  bits(k: number): number {
    return this.nextU32() >>> (32 - k);
  }

  /** Python's _randbelow(n): uniform in [0, n) by rejection, for 1 <= n <= 2^32. */
  below(n: number): number {
    const k = 32 - Math.clz32(n);
    let r = this.bits(k);
    while (r >= n) r = this.bits(k);
    return r;
  }

  /** Python's random.shuffle, in place. */
  shuffle<T>(items: T[]): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
  }

  /** Fills `out` with uniform 32-bit words. */
  fill(out: Uint32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.nextU32();
  }

  private seedByArray(key: number[]): void {
    const mt = this.mt;
    mt[0] = 19650218;
    for (let i = 1; i < N; i++) mt[i] = Math.imul(1812433253, mt[i - 1]! ^ (mt[i - 1]! >>> 30)) + i;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      mt[i] = (mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1664525)) + key[j]! + j;
      i++;
      j++;
      if (i >= N) { mt[0] = mt[N - 1]!; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      mt[i] = (mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1566083941)) - i;
      i++;
      if (i >= N) { mt[0] = mt[N - 1]!; i = 1; }
    }
    mt[0] = 0x80000000;
    this.index = N;
  }
}

// The little-endian 32-bit words of a non-negative integer (at least one word), as CPython
// passes an int seed to init_by_array.
function wordsOf(n: bigint): number[] {
  if (n < 0n) throw new RangeError(`seed must be a non-negative integer, got ${n}`);
  const words: number[] = [];
  do {
    words.push(Number(n & 0xffffffffn));
    n >>= 32n;
  } while (n > 0n);
  return words;
}
