import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import ort from 'onnxruntime-node';
import { type Architecture, resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import { demoWeightIndex } from '../../../../runtime/model/graph/index.ts';
import { convertWeights } from '../../../../runtime/model/quantize/index.ts';
import { writeModelFolder } from './model-folder.ts';
import { rowRelError } from './step-schedule.ts';

// The trained demo model at float16 and int4, against its float32 logits over 512 bytes of text it was
// not trained on (train.py's validation split: the corpus's last 10%). The bounds are what this measured,
// with room: float16 max relative error 1.7e-3, every top-1 byte kept, loss -7e-5 nats/byte; int4 in
// blocks of 32 / 64: 0.28 / 0.36, 92.8% / 88.3% of top-1 bytes kept, loss +0.033 / +0.046 nats/byte.
// (npm run bench:dtype scores the whole held-back slice.)

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEMO = join(ROOT, 'runtime/models/demo');
const TEXT_BYTES = 512;

const CASES = [
  { dtype: 'float16', blockSize: undefined, maxRel: 3e-3, top1: 0.99, loss: 5e-4 },
  { dtype: 'int4', blockSize: 32, maxRel: 0.45, top1: 0.88, loss: 0.06 },
  { dtype: 'int4', blockSize: 64, maxRel: 0.5, top1: 0.84, loss: 0.07 },
] as const;

/** Logits [T, V] of reference.onnx over `ids`, and the mean next-byte cross-entropy (nats). */
async function score(dir: string, ids: Uint8Array): Promise<{ logits: Float32Array; loss: number }> {
  const s = await ort.InferenceSession.create(join(dir, 'reference.onnx'), { intraOpNumThreads: 1 });
  try {
    const T = ids.length - 1;
    const input = BigInt64Array.from(ids.subarray(0, T), (b) => BigInt(b));
    const logits = (await s.run({ input_ids: new ort.Tensor('int64', input, [T]) })).logits!
      .data as Float32Array;
    const V = logits.length / T;
    let nats = 0;
    for (let t = 0; t < T; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      const max = Math.max(...row);
      nats += max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) - row[ids[t + 1]!]!;
    }
    return { logits, loss: nats / T };
  } finally {
    await s.release();
  }
}

describe(
  'the demo model at float16 and int4, against float32 on held-back text',
  { timeout: 120_000 },
  () => {
    let root: string;
    let text: Uint8Array;
    let fp32: { logits: Float32Array; loss: number };
    let arch: Architecture;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'wg-graph-drift-'));
      const corpus = gunzipSync(await readFile(join(ROOT, 'data/corpus/tinyshakespeare.txt.gz')));
      text = corpus.subarray(Math.floor(corpus.length * 0.9)).subarray(0, TEXT_BYTES + 1);
      arch = (JSON.parse(await readFile(join(DEMO, 'model.json'), 'utf8')) as { architecture: Architecture })
        .architecture;
      fp32 = await score(DEMO, text);
    });
    after(() => rm(root, { recursive: true, force: true }));

    for (const c of CASES) {
      const label = c.blockSize ? `${c.dtype}, blocks of ${c.blockSize}` : c.dtype;
      it(`${label}: max relative error <= ${c.maxRel}, top-1 agreement >= ${c.top1}, loss within ${c.loss}`, async (t) => {
        const dir = join(root, label.replace(/\W+/g, '-'));
        await mkdir(dir);
        const source = join(DEMO, 'weights.bin');
        const index = demoWeightIndex(resolveArchitecture(arch), (await stat(source)).size);
        const weights = join(dir, 'weights.bin');
        const converted = await convertWeights(source, index, c.dtype, weights, { blockSize: c.blockSize });
        await writeModelFolder(dir, arch, converted.index, { copyFrom: weights }, 'demo', c.dtype);
        const got = await score(dir, text);
        const V = arch.vocab_size;
        let maxRel = 0;
        let agree = 0;
        for (let r = 0; r < TEXT_BYTES; r++) {
          const g = got.logits.subarray(r * V, (r + 1) * V);
          const w = fp32.logits.subarray(r * V, (r + 1) * V);
          maxRel = Math.max(maxRel, rowRelError(g, w));
          if (g.indexOf(Math.max(...g)) === w.indexOf(Math.max(...w))) agree++;
        }
        const top1 = agree / TEXT_BYTES;
        const dLoss = got.loss - fp32.loss;
        t.diagnostic(
          `max relative error ${maxRel.toExponential(2)}, top-1 agreement ${top1.toFixed(4)}, loss ${fp32.loss.toFixed(4)} -> ${got.loss.toFixed(4)} (${dLoss >= 0 ? '+' : ''}${dLoss.toExponential(2)})`,
        );
        assert.ok(maxRel > 0 && maxRel <= c.maxRel, `max relative error ${maxRel}`);
        assert.ok(top1 >= c.top1, `top-1 agreement ${top1}`);
        assert.ok(Math.abs(dLoss) <= c.loss, `loss changed by ${dLoss}`);
      });
    }
  },
);
