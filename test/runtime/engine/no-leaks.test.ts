import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_SAMPLING_PARAMS,
  Engine,
  type GenerateRequest,
  type GenerationEvent,
  type SamplingParams,
} from '../../../runtime/engine/index.ts';
import { type LoadedModel, loadModel } from '../../../runtime/model/index.ts';
import {
  type Collected,
  collect,
  type FinishEvent,
  kvBytesFor,
  pick,
  prng,
  randInt,
  TEST_MODEL_DIR,
} from '../../support/engine-harness.ts';
import { testLoadOptions, testBlockSize, testPoolBlocks } from '../../support/test-device.ts';

// Soak: thousands of short requests with every way of leaving early. The KV cache's invariants hold at
// every step, every stream ends with one finish per sample, and at the end every block is free again.

const TOTAL = 10_000;
const POOL_BLOCKS = testPoolBlocks(32, 4);
const BLOCK_SIZE = testBlockSize(4);

type Exit =
  | 'none'
  /** The signal was aborted before submit. */
  | 'signal-before-submit'
  /** Aborted right after submit, before the engine's next step boundary. */
  | 'signal-at-once'
  /** The signal fires from the step hook some steps later (maybe mid-stream, maybe after the end). */
  | 'signal-later'
  /** engine.abort(id) from the step hook some steps later. */
  | 'engine-abort-later'
  /** The reader calls engine.abort(id) after some tokens and reads on to the end. */
  | 'abort-mid-stream'
  /** The reader breaks out of its for-await loop after some events. */
  | 'break';

const EXITS: readonly Exit[] = [
  'none',
  'none',
  'none',
  'none',
  'none',
  'signal-before-submit',
  'signal-at-once',
  'signal-later',
  'engine-abort-later',
  'abort-mid-stream',
  'break',
];

interface Tracked {
  readonly req: GenerateRequest;
  readonly exit: Exit;
  /** Events to read before aborting or breaking. */
  readonly after: number;
  requestId?: string;
  result?: Collected;
}

// The timeout turns a stalled engine into a failure instead of a hung CI job.
describe('no leaks under random aborts', { timeout: 300_000 }, () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel(TEST_MODEL_DIR, testLoadOptions({ intraOpThreads: 1 }));
  });
  after(() => model.release());

  it(`${TOTAL} random requests: invariants at every step, every stream ends, every block comes back`, async (t) => {
    const rand = prng(424242);
    const config = {
      intraOpThreads: 1,
      blockSize: BLOCK_SIZE,
      kvCacheBytes: kvBytesFor(model, BLOCK_SIZE, POOL_BLOCKS),
      maxRunningSeqs: 48,
      maxBatchedTokens: 256,
      maxPrefillChunk: 64,
    };
    const stems = Array.from({ length: 4 }, () => Array.from({ length: 24 }, () => pick(rand, [97, 98, 32])));
    // Characters the tiny model often emits, so that stop strings do end some samples.
    const stops = ['s', '&', '\u000b', 'M', '\u0018', 'tt', 'ss', '\t'];

    function randomRequest(): GenerateRequest {
      // A small alphabet, and often the head of one of a few stems, so that full blocks repeat.
      const length = randInt(rand, 1, 24);
      const head = rand() < 0.6 ? pick(rand, stems).slice(0, randInt(rand, 0, length)) : [];
      const prompt = [
        ...head,
        ...Array.from({ length: length - head.length }, () => pick(rand, [97, 98, 32])),
      ];
      const params: SamplingParams = {
        ...DEFAULT_SAMPLING_PARAMS,
        temperature: rand() < 0.5 ? 0 : 1,
        maxTokens: randInt(rand, 1, 6),
        n: rand() < 0.2 ? 2 : 1,
        stop: rand() < 0.3 ? [pick(rand, stops)] : [],
        ignoreEos: rand() < 0.5,
      };
      return { prompt, params, priority: pick(rand, [0, 1] as const) };
    }

    const tracked: Tracked[] = [];
    const reads: Promise<void>[] = [];
    const later = new Map<number, (() => void)[]>();
    let steps = 0;
    let refused = 0;
    let maxUsed = 0;
    const hookErrors: unknown[] = [];
    const atStep = (step: number, fn: () => void) => {
      const list = later.get(step) ?? [];
      list.push(fn);
      later.set(step, list);
    };

    async function read(engine: Engine, item: Tracked, events: AsyncIterable<GenerationEvent>) {
      if (item.exit === 'break') {
        let seen = 0;
        for await (const _ of events) if (++seen > item.after) break;
        return;
      }
      if (item.exit === 'abort-mid-stream') {
        const mid = (async function* () {
          let seen = 0;
          for await (const ev of events) {
            yield ev;
            if (++seen === item.after) engine.abort(item.requestId!);
          }
        })();
        item.result = await collect(mid, item.req.params.n);
        return;
      }
      item.result = await collect(events, item.req.params.n);
    }

    function submitOne(engine: Engine): void {
      const req = randomRequest();
      const exit = pick(rand, EXITS);
      const controller = new AbortController();
      if (exit === 'signal-before-submit') controller.abort();
      const item: Tracked = { req: { ...req, signal: controller.signal }, exit, after: randInt(rand, 0, 4) };
      const r = engine.submit(item.req);
      if (!r.ok) {
        refused++;
        return;
      }
      item.requestId = r.requestId;
      tracked.push(item);
      if (exit === 'signal-at-once') controller.abort();
      if (exit === 'signal-later') atStep(steps + randInt(rand, 1, 8), () => controller.abort());
      if (exit === 'engine-abort-later') atStep(steps + randInt(rand, 1, 8), () => engine.abort(r.requestId));
      reads.push(read(engine, item, r.events));
    }

    const engine = new Engine(model, config, {
      onStep: (e) => {
        steps++;
        try {
          e.checkInvariants();
          const s = e.stats();
          maxUsed = Math.max(maxUsed, s.kvTotalBlocks - s.kvFreeBlocks);
          for (const fn of later.get(steps) ?? []) fn();
          later.delete(steps);
          if (tracked.length + refused < TOTAL && s.waiting < 48 && hookErrors.length === 0) {
            const burst = randInt(rand, 0, 14);
            for (let i = 0; i < burst && tracked.length + refused < TOTAL; i++) submitOne(e);
          }
        } catch (err) {
          // Stop the run: abort everything so that every stream ends and the failure is reported, rather
          // than the engine grinding on (or stalling) on a broken cache.
          if (hookErrors.push(err) === 1) for (const item of tracked) e.abort(item.requestId!);
        }
      },
    });

    const started = performance.now();
    while (tracked.length + refused < TOTAL && hookErrors.length === 0) {
      for (let i = 0; i < 48 && tracked.length + refused < TOTAL; i++) submitOne(engine);
      await engine.idle();
    }
    await Promise.all(reads);
    await engine.idle();
    const elapsed = performance.now() - started;

    assert.deepEqual(hookErrors, [], 'invariants held at every step');
    assert.equal(refused, 0, 'nothing was refused');
    const stats = engine.stats();
    t.diagnostic(
      `${TOTAL} requests in ${(elapsed / 1000).toFixed(1)} s: ${stats.steps} steps, ${stats.preemptions} preemptions, ` +
        `prefix hit rate ${stats.prefixHitRate.toFixed(3)}, most blocks in use ${maxUsed}/${stats.kvTotalBlocks}`,
    );
    engine.checkInvariants();
    assert.equal(stats.running, 0);
    assert.equal(stats.waiting, 0);
    assert.equal(stats.kvFreeBlocks, stats.kvTotalBlocks, 'every block is free or cached-unreferenced');
    assert.equal(stats.requestsFinished, tracked.length, 'the engine finished every request it admitted');
    assert.ok(stats.preemptions > 0, 'the pool was small enough to preempt');
    assert.ok(stats.prefixHitRate > 0, 'prompts shared cached prefixes');

    const reasons = new Map<string, number>();
    let stoppedByString = 0;
    for (const item of tracked) {
      if (item.exit === 'break') continue;
      const { n, maxTokens } = item.req.params;
      const c = item.result;
      assert.ok(c, `${item.requestId} (${item.exit}): the stream ended`);
      const label = `${item.requestId} (${item.exit}, n=${n})`;
      assert.deepEqual(c.afterFinish, [], `${label}: nothing after a sample's finish`);
      assert.equal(c.finishes.length, n, `${label}: exactly n finish events`);
      assert.deepEqual(
        c.finishes.map((f: FinishEvent) => f.index).sort(),
        Array.from({ length: n }, (_, i) => i),
        `${label}: one finish per sample`,
      );
      for (const f of c.finishes) {
        reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
        assert.ok(c.tokens[f.index]!.length <= maxTokens, `${label}: at most maxTokens tokens`);
        if (item.exit === 'none') assert.notEqual(f.reason, 'abort', `${label}: not aborted`);
        if (item.exit === 'signal-before-submit' || item.exit === 'signal-at-once') {
          // Aborts apply at the next step boundary, and a request aborted during a step gets nothing from it.
          assert.equal(f.reason, 'abort', `${label}: aborted before its first token`);
          assert.equal(c.tokens[f.index]!.length, 0, `${label}: no tokens`);
        }
        if (f.reason === 'length')
          assert.equal(c.tokens[f.index]!.length, maxTokens, `${label}: 'length' means maxTokens`);
        if (f.reason === 'stop' && item.req.params.ignoreEos && item.req.params.stop.length)
          stoppedByString++;
      }
      if (item.exit === 'abort-mid-stream') {
        // The reader aborted after `after` events, so the aborts' finishes came on top of those.
        const aborts = c.finishes.filter((f) => f.reason === 'abort').length;
        const events = c.tokens.flat().length + c.finishes.length;
        if (aborts)
          assert.ok(events >= item.after + aborts, `${label}: aborted only after ${item.after} events`);
      }
    }
    t.diagnostic(
      `finish reasons ${JSON.stringify(Object.fromEntries(reasons))}, stopped by a stop string ${stoppedByString}`,
    );
    for (const reason of ['stop', 'length', 'abort'])
      assert.ok((reasons.get(reason) ?? 0) > 0, `some samples ended with ${reason}`);
    assert.ok(stoppedByString > 0, 'stop strings ended some samples');
  });
});
