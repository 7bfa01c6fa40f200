import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WeightEntry, WeightIndex, WeightSpan } from '../../../../runtime/model/graph/index.ts';
import { convertWeights, WeightConversionError } from '../../../../runtime/model/quantize/index.ts';
import { prng } from '../../../support/engine-harness.ts';
import { blocksOf, halfValue, storedWeights } from './stored-weights.ts';

// The converter against references written here from the formats' definitions: float16 by searching
// the float16 values for the nearest (ties to the even code), 4-bit blocks by decoding MatMulNBits's
// layout and checking each value against its block's step.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wg-convert-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A float32 weights file of the given tensors, each at a 64-byte boundary after a 64-byte gap. */
async function sourceFile(tensors: Record<string, { shape: number[]; values: Float32Array }>) {
  const index: Record<string, WeightEntry> = {};
  let end = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const offset = Math.ceil(end / 64) * 64 + 64;
    index[name] = { offset, byteLength: t.values.byteLength, shape: t.shape, dtype: 'float32' };
    end = offset + t.values.byteLength;
  }
  const bytes = new Uint8Array(end);
  for (const [name, t] of Object.entries(tensors))
    bytes.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), index[name]!.offset);
  const path = join(dir, `source-${Object.keys(tensors).join('-')}.bin`);
  await writeFile(path, bytes);
  return { path, index: index as WeightIndex, bytes };
}

// Every finite non-negative float16 value in order of its code (codes 0..0x7bff ascend in value).
const HALVES = Float64Array.from({ length: 0x7c00 }, (_, h) => halfValue(h));

/** The float16 code nearest x, ties to the even code; beyond 65520 (halfway past 65504) infinity. */
function nearestHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0; // HALVES[lo] <= a < HALVES[lo + 1]
  let hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (HALVES[mid]! <= a) lo = mid;
    else hi = mid - 1;
  }
  if (lo === 0x7bff) return sign | lo;
  // Compare 2a with the neighbours' sum: both exact in float64, unlike the two differences near 0.
  const twice = 2 * a;
  const sum = HALVES[lo]! + HALVES[lo + 1]!;
  return sign | (twice < sum || (twice === sum && lo % 2 === 0) ? lo : lo + 1);
}

const halfBitsAt = (file: Uint8Array, e: WeightSpan, i: number) =>
  new DataView(file.buffer, file.byteOffset).getUint16(e.offset + 2 * i, true);

function float16Cases(): Float32Array {
  const rand = prng(7);
  const values: number[] = [
    0,
    -0,
    Infinity,
    -Infinity,
    NaN,
    65504,
    -65504,
    65519.99,
    2 ** -24,
    2 ** -25,
    2 ** -26,
  ];
  // Across float16's whole range, its subnormals and below.
  for (let i = 0; i < 4000; i++)
    values.push((rand() < 0.5 ? -1 : 1) * 2 ** (-28 + 44 * rand()) * (1 + rand()));
  // Exact halfway points between neighbouring codes (even and odd below), normal and subnormal.
  for (let i = 0; i < 2000; i++) {
    const h = Math.floor(rand() * 0x7bfe);
    values.push((HALVES[h]! + HALVES[h + 1]!) / 2);
  }
  return Float32Array.from(
    values.map((v) => (Number.isFinite(v) ? Math.sign(v) * Math.min(Math.abs(v), 65519.99) || v : v)),
  );
}

/** bf16 values (the top half of a float32) in float16's normal range: each must convert exactly. */
function bf16Cases(): Float32Array {
  const rand = prng(8);
  const out: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  while (out.length < 3000) {
    u[0] = Math.floor(rand() * 0x10000) << 16;
    const a = Math.abs(f[0]!);
    if (a >= 2 ** -14 && a <= 65280) out.push(f[0]!);
  }
  return Float32Array.from(out);
}

describe('convertWeights to float16', () => {
  it('rounds every value to the nearest float16, ties to even, within half a step', async () => {
    const cases = float16Cases();
    const bf16 = bf16Cases();
    const src = await sourceFile({
      'ln_f.w': { shape: [cases.length], values: cases },
      'l0.wq': { shape: [bf16.length / 30, 30], values: bf16 },
    });
    const out = join(dir, 'f16.bin');
    const result = await convertWeights(src.path, src.index, 'float16', out);
    const file = new Uint8Array(await readFile(out));
    let worstRel = 0;
    cases.forEach((x, i) => {
      const got = halfBitsAt(file, result.index['ln_f.w']!, i);
      assert.equal(got, nearestHalf(x), `${x}: got code ${got.toString(16)}`);
      if (!Number.isFinite(x)) return;
      const err = Math.abs(halfValue(got) - x);
      assert.ok(err <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25), `${x}: error ${err}`);
      if (Math.abs(x) >= 2 ** -14) worstRel = Math.max(worstRel, err / Math.abs(x));
    });
    assert.ok(worstRel > 2 ** -12, 'the cases reach the bound (a converter keeping more bits would not)');
    bf16.forEach((x, i) => assert.equal(halfValue(halfBitsAt(file, result.index['l0.wq']!, i)), x));
    assert.equal(result.index['l0.wq']!.dtype, 'float16');
    assert.deepEqual(result.index['l0.wq']!.shape, [bf16.length / 30, 30]);
  });

  it('refuses a value beyond float16 and leaves no file', async () => {
    const src = await sourceFile({ 'ln1.w': { shape: [3], values: Float32Array.of(1, 65520, 2) } });
    const out = join(dir, 'overflow.bin');
    await assert.rejects(
      convertWeights(src.path, src.index, 'float16', out),
      (e) => e instanceof WeightConversionError && e.code === 'value_out_of_range' && /65520/.test(e.message),
    );
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('overflow')),
      [],
    );
  });
});

/** Seeded values of one matrix, with the blocks a quantizer gets wrong: one-signed, all zero, an outlier. */
function matrix(rows: number, cols: number, seed: number): Float32Array {
  const rand = prng(seed);
  const w = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 0.2);
  for (let r = 0; r < rows; r++) {
    w[r * cols] = Math.abs(w[r * cols]!) + 0.01; // column 0 positive throughout
    if (r < 40) w[r * cols + 1] = 0; // column 1: a first block of zeros
    if (r % 7 === 0) w[r * cols + 2] = 0; // exact zeros among others
  }
  w[5 * cols + 3] = 3; // an outlier
  return w;
}

function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: w.length }, (_, i) => w[(i % rows) * cols + Math.floor(i / rows)]!);
}

describe('convertWeights to int4', () => {
  // K = 80 and 96: blocks of 32 and 64 both leave a padded last block somewhere.
  const tensors = {
    tok_emb: { shape: [9, 80], values: matrix(9, 80, 1) },
    'ln_f.w': { shape: [80], values: matrix(1, 80, 2) },
    'l0.wq': { shape: [80, 6], values: matrix(80, 6, 3) },
    'l0.bq': { shape: [6], values: matrix(1, 6, 4) },
    'l0.fc2': { shape: [96, 5], values: matrix(96, 5, 5) },
    lm_head: { shape: [9, 80], values: transposed(matrix(80, 9, 6), 80, 9) },
  };
  /** Weight (input k, output n) of a source tensor: Linear weights are [K, N], lm_head [N, K]. */
  const source = (name: keyof typeof tensors, k: number, n: number) => {
    const t = tensors[name];
    return name === 'lm_head' ? t.values[n * t.shape[1]! + k]! : t.values[k * t.shape[1]! + n]!;
  };

  for (const blockSize of [32, 64] as const)
    it(`block ${blockSize}: every value decodes within half its block's step, padding to 0`, async () => {
      const src = await sourceFile(tensors);
      const before = await readFile(src.path);
      const out = join(dir, `int4-${blockSize}.bin`);
      const result = await convertWeights(src.path, src.index, 'int4', out, { blockSize });
      const file = new Uint8Array(await readFile(out));
      assert.ok((await readFile(src.path)).equals(before), 'the source is left as it was');
      assert.equal(result.byteLength, file.length);
      assert.equal(result.sha256, createHash('sha256').update(file).digest('hex'));

      for (const name of ['l0.wq', 'l0.fc2', 'lm_head'] as const) {
        const e = result.index[name]!;
        assert.equal(e.dtype, 'uint8', name);
        assert.deepEqual(e.shape, tensors[name].shape, name);
        const b = blocksOf(file, e);
        assert.equal(b.blockSize, blockSize);
        const [K, N] = name === 'lm_head' ? [80, 9] : tensors[name].shape;
        assert.deepEqual([b.K, b.N], [K, N], name);
        let steps = 0;
        for (let n = 0; n < N!; n++)
          for (let blk = 0; blk < b.blocks; blk++) {
            const ks = Array.from({ length: blockSize }, (_, j) => blk * blockSize + j);
            const inside = ks.filter((k) => k < K!);
            const values = inside.map((k) => source(name, k, n));
            const lo = Math.min(0, ...values);
            const hi = Math.max(0, ...values);
            const scale = b.scale(n, blk);
            const zero = b.zeroPoint(n, blk);
            // The step is the block's range (0 included) over 15, no wider: a loose scale would pass below.
            if (hi > lo) {
              assert.ok(
                scale >= (hi - lo) / 15 && scale <= ((hi - lo) / 15) * (1 + 2 ** -22),
                `${name} scale`,
              );
              steps++;
            }
            for (const k of inside) {
              const w = source(name, k, n);
              const got = Math.fround((b.code(n, k) - zero) * scale);
              assert.ok(
                Math.abs(got - w) <= (scale / 2) * (1 + 1e-6),
                `${name} [k ${k}, n ${n}]: ${got} for ${w}`,
              );
              if (w === 0) assert.equal(got, 0, `${name}: 0 decodes to 0`);
            }
            for (const k of ks.filter((k) => k >= K!)) assert.equal(b.code(n, k), zero, `${name}: padding`);
          }
        assert.ok(steps > 0);
      }
      // Embeddings, norms and biases are float16, exactly as the float16 conversion rounds them.
      for (const name of ['tok_emb', 'ln_f.w', 'l0.bq'] as const) {
        const e = result.index[name]!;
        assert.equal(e.dtype, 'float16', name);
        tensors[name].values.forEach((x, i) => assert.equal(halfBitsAt(file, e, i), nearestHalf(x), name));
      }
      // Every piece on a 64-byte boundary, inside the file, none overlapping.
      const spans = Object.values(result.index)
        .flatMap((e) => [e, ...(e.quantization ? [e.quantization.scales, e.quantization.zeroPoints] : [])])
        .sort((x, y) => x.offset - y.offset);
      spans.forEach((s, i) => {
        assert.equal(s.offset % 64, 0);
        assert.ok(s.offset + s.byteLength <= (spans[i + 1]?.offset ?? file.length));
      });
      // The JSON the importer will store reads back the same.
      assert.deepEqual(JSON.parse(JSON.stringify(result.index)), result.index);
      // The independent decoder agrees with the per-block reading above on a whole tensor.
      assert.equal(storedWeights(file, result.index)('lm_head').length, 9 * 80);
    });
});

describe('convertWeights refuses', () => {
  const refused = (code: WeightConversionError['code']) => (e: unknown) =>
    e instanceof WeightConversionError && e.code === code;

  it('a block size other than 32 or 64', async () => {
    const src = await sourceFile({ 'l1.wk': { shape: [4, 4], values: new Float32Array(16) } });
    const bad = { blockSize: 48 } as unknown as { blockSize: 32 };
    await assert.rejects(
      convertWeights(src.path, src.index, 'int4', join(dir, 'x.bin'), bad),
      refused('block_size_unsupported'),
    );
  });

  it('a source index that is not float32, or lies outside the file', async () => {
    const src = await sourceFile({ 'l1.wv': { shape: [4, 4], values: new Float32Array(16) } });
    const e = src.index['l1.wv']!;
    const half = { 'l1.wv': { ...e, dtype: 'float16', byteLength: 32 } } satisfies WeightIndex;
    await assert.rejects(
      convertWeights(src.path, half, 'float16', join(dir, 'x.bin')),
      refused('source_not_float32'),
    );
    const outside = { 'l1.wv': { ...e, offset: e.offset + 64 } };
    await assert.rejects(
      convertWeights(src.path, outside, 'float16', join(dir, 'x.bin')),
      refused('tensor_out_of_file'),
    );
    await assert.rejects(
      convertWeights(join(dir, 'missing.bin'), src.index, 'float16', join(dir, 'x.bin')),
      refused('source_unreadable'),
    );
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('x.bin')),
      [],
    );
  });
});
