import { randomBytes } from 'node:crypto';

/** What the sampler needs from a random generator: one uniform draw in [0, 1) per call. */
export interface RandomSource {
  next(): number;
}

const TWO_POW_32 = 4294967296;

/**
 * xoshiro128** (Blackman & Vigna): 128-bit state, 32-bit integer math only, so the same seed gives
 * the same draws on every platform and Node version. Each sequence of a request owns one instance.
 */
export class Rng implements RandomSource {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  private constructor(s0: number, s1: number, s2: number, s3: number) {
    // The all-zero state is the one fixed point of xoshiro; it would emit zeros forever.
    if ((s0 | s1 | s2 | s3) === 0) s0 = 0x9e3779b9;
    this.#s0 = s0 | 0;
    this.#s1 = s1 | 0;
    this.#s2 = s2 | 0;
    this.#s3 = s3 | 0;
  }

  /**
   * `stream` separates the samples of one request: sample i of a request with seed s uses
   * `fromSeed(s, i)`, so its draws do not depend on how many siblings it has or how they are batched.
   * `seed` is any safe integer (negative ones too); `stream` is a non-negative safe integer.
   */
  static fromSeed(seed: number, stream = 0): Rng {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    if (!Number.isSafeInteger(stream) || stream < 0) {
      throw new RangeError(`stream must be a non-negative safe integer, got ${stream}`);
    }
    const [a, b] = split64(seed);
    const [c, d] = split64(stream);
    // Four differently keyed hashes of all 128 input bits: nearby seeds and streams give unrelated states.
    return new Rng(hash4(0, a, b, c, d), hash4(1, a, b, c, d), hash4(2, a, b, c, d), hash4(3, a, b, c, d));
  }

  /** An unseeded generator for requests that did not ask for reproducibility. */
  static random(): Rng {
    const bytes = randomBytes(16);
    return new Rng(
      bytes.readUInt32LE(0),
      bytes.readUInt32LE(4),
      bytes.readUInt32LE(8),
      bytes.readUInt32LE(12),
    );
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  nextUint32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Low and high 32-bit words of the 64-bit two's complement of a safe integer. */
function split64(value: number): [number, number] {
  const big = BigInt.asUintN(64, BigInt(value));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

/** MurmurHash3 (x86, 32-bit) of four words, keyed by `key`. */
function hash4(key: number, a: number, b: number, c: number, d: number): number {
  let h = key;
  for (const word of [a, b, c, d]) {
    let k = Math.imul(word, 0xcc9e2d51);
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
