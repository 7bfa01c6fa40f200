import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Engine, GenerateRequest, GenerationEvent, SamplingParams } from '../../runtime/engine/index.ts';
import { DEFAULT_SAMPLING_PARAMS } from '../../runtime/engine/index.ts';
import { DeviceKVPool } from '../../runtime/engine/runner/device-kv-pool.ts';
import { KVStore } from '../../runtime/engine/runner/kv-store.ts';
import { repoRoot } from '../../runtime/bench/repo-root.ts';
import type { LoadedModel } from '../../runtime/model/index.ts';

/** The seeded tiny model every engine test runs (context 256, vocab 257 = bytes + EOS 256). */
// From the repository root: test:gpu runs these tests compiled into dist/.
export const TINY_MODEL_DIR = join(repoRoot(), 'runtime/models/tiny');

const testModel = process.env.WARMGATE_TEST_MODEL ?? 'tiny';
if (testModel !== 'tiny' && testModel !== 'demo')
  throw new Error(`WARMGATE_TEST_MODEL must be tiny or demo, got ${testModel}`);
/**
 * The model the engine's equivalence tests run: the tiny one, or (WARMGATE_TEST_MODEL=demo) the demo
 * model, the same vocabulary and files at a head size of 32, which PagedAttention takes (the tiny
 * model's 8 it refuses): test:gpu runs the paged step's forms on it.
 */
export const TEST_MODEL_DIR = join(repoRoot(), 'runtime/models', testModel);

export type FinishEvent = Extract<GenerationEvent, { type: 'finish' }>;

/** mulberry32: a small seeded PRNG for generating test workloads (not the engine's sampler). */
export { mulberry32 as prng } from '../../runtime/random/mulberry32.ts';

/** Uniform integer in [lo, hi]. */
export function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

export const bytes = (text: string): number[] => [...Buffer.from(text, 'utf8')];

/** KV pool bytes for exactly `numBlocks` blocks of `blockSize` slots. */
export function kvBytesFor(model: LoadedModel, blockSize: number, numBlocks: number): number {
  const arch = model.manifest.architecture;
  const perBlock = model.device
    ? DeviceKVPool.bytesPerBlock(arch, blockSize, model.device)
    : KVStore.bytesPerBlock(arch, blockSize);
  return perBlock * numBlocks;
}

export function greedyParams(maxTokens: number, extra: Partial<SamplingParams> = {}): SamplingParams {
  return { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, maxTokens, ignoreEos: true, ...extra };
}

/** One request's stream, gathered per sample index. */
export interface Collected {
  readonly tokens: number[][];
  /** The logprob reported with each token, per sample. */
  readonly logprobs: number[][];
  /** Concatenated token texts plus the finish text, per sample. */
  readonly text: string[];
  readonly finishes: FinishEvent[];
  /** Events that arrived for a sample after its finish event (must stay empty). */
  readonly afterFinish: GenerationEvent[];
}

export async function collect(events: AsyncIterable<GenerationEvent>, n: number): Promise<Collected> {
  const c: Collected = {
    tokens: Array.from({ length: n }, () => []),
    logprobs: Array.from({ length: n }, () => []),
    text: Array.from({ length: n }, () => ''),
    finishes: [],
    afterFinish: [],
  };
  const done = new Set<number>();
  for await (const ev of events) {
    if (ev.type === 'error') throw new Error(`stream failed: ${ev.message}`);
    if (done.has(ev.index)) c.afterFinish.push(ev);
    c.text[ev.index] += ev.text;
    if (ev.type === 'token') {
      c.tokens[ev.index]!.push(ev.token);
      c.logprobs[ev.index]!.push(ev.logprob);
    } else {
      done.add(ev.index);
      c.finishes.push(ev);
    }
  }
  return c;
}

/** Submits and fails the test if the engine refuses. */
export function mustSubmit(
  engine: Engine,
  req: GenerateRequest,
): { requestId: string; events: AsyncIterable<GenerationEvent> } {
  const r = engine.submit(req);
  if (!r.ok) assert.fail(`submit refused: ${r.error.code}: ${r.error.message}`);
  return r;
}

/** Runs one request on a fresh engine of its own and returns its collected stream. */
export async function runAlone(
  make: () => Engine,
  req: GenerateRequest,
): Promise<{ collected: Collected; engine: Engine }> {
  const engine = make();
  const { events } = mustSubmit(engine, req);
  const collected = await collect(events, req.params.n);
  await engine.idle();
  return { collected, engine };
}
