import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../runtime/engine/index.ts';
import { type LoadedModel, loadModel } from '../../../runtime/model/index.ts';
import { bytes, collect, greedyParams, mustSubmit, TINY_MODEL_DIR } from '../../support/engine-harness.ts';

/** Greedy tokens and logprobs for a few prompts on `model`. */
async function outputs(model: LoadedModel): Promise<{ tokens: number[][]; logprobs: number[][] }> {
  const engine = new Engine(model, { kvCacheBytes: 4 * 2 ** 20 });
  const tokens: number[][] = [];
  const logprobs: number[][] = [];
  for (const prompt of ['To be, or not to be', 'ROMEO:\n', 'x']) {
    const c = await collect(
      mustSubmit(engine, { prompt: bytes(prompt), params: greedyParams(16) }).events,
      1,
    );
    tokens.push(c.tokens[0]!);
    logprobs.push(c.logprobs[0]!);
  }
  await engine.idle();
  return { tokens, logprobs };
}

describe('optimized-graph cache (real ONNX Runtime, tiny model)', { timeout: 60_000 }, () => {
  let dir: string;
  let reference: { tokens: number[][]; logprobs: number[][] };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wg-graphs-'));
    const plain = await loadModel(TINY_MODEL_DIR, { intraOpThreads: 1 });
    try {
      reference = await outputs(plain);
    } finally {
      await plain.release();
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const loadCached = () => loadModel(TINY_MODEL_DIR, { intraOpThreads: 1, graphCacheDir: dir });
  const same = (got: { tokens: number[][]; logprobs: number[][] }) => {
    assert.deepEqual(got.tokens, reference.tokens);
    for (const [i, lp] of got.logprobs.entries())
      for (const [j, v] of lp.entries())
        assert.ok(
          Math.abs(v - reference.logprobs[i]![j]!) < 1e-4,
          `logprob ${i}.${j}: ${v} vs ${reference.logprobs[i]![j]}`,
        );
  };

  it('the first load writes the optimized graph; later loads read it and generate the same tokens', async () => {
    for (let round = 0; round < 2; round++) {
      const m = await loadCached();
      try {
        const files = (await readdir(dir)).filter((f) => f.endsWith('.onnx'));
        assert.equal(files.length, 1, `cache holds ${files.join(', ')}`);
        assert.ok(files[0]!.startsWith(m.manifest.files.engine.sha256.slice(0, 16)));
        same(await outputs(m));
      } finally {
        await m.release();
      }
    }
  });

  it('a damaged cache entry is dropped and rewritten; the load still succeeds', async () => {
    const [file] = (await readdir(dir)).filter((f) => f.endsWith('.onnx'));
    assert.ok(file, 'the previous test left an entry');
    await writeFile(join(dir, file), 'not an onnx graph');
    const m = await loadCached();
    try {
      same(await outputs(m));
    } finally {
      await m.release();
    }
    const again = await loadCached(); // reads the rewritten entry
    try {
      same(await outputs(again));
    } finally {
      await again.release();
    }
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});
