import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ByteTokenizer,
  Engine,
  type EngineConfig,
  type EngineStats,
  type GenerateRequest,
} from '../../../runtime/engine/index.ts';
import { type LoadedModel, loadModel } from '../../../runtime/model/index.ts';
import {
  bytes,
  collect,
  greedyParams,
  kvBytesFor,
  mustSubmit,
  TINY_MODEL_DIR,
} from '../../support/engine-harness.ts';
import { testLoadOptions, testBlockSize, testPoolBlocks } from '../../support/test-device.ts';
import { Reference } from '../../support/reference.ts';

const tokenizer = new ByteTokenizer();

/** The parts of the stats a refused request must leave alone. */
const load = (s: EngineStats) => ({ running: s.running, waiting: s.waiting, kvFreeBlocks: s.kvFreeBlocks });

// The timeout turns a stalled engine into a failure instead of a hung CI job.
describe('admission and streaming', { timeout: 120_000 }, () => {
  let model: LoadedModel;
  let ref: Reference;
  let eos: number;
  before(async () => {
    model = await loadModel(TINY_MODEL_DIR, testLoadOptions({ intraOpThreads: 1 }));
    ref = await Reference.open(model);
    eos = model.manifest.tokenizer.eos_token_id;
  });
  after(async () => {
    await ref.release();
    await model.release();
  });

  /** bs 4 (16 under PagedAttention), `blocks` blocks' tokens, one ONNX thread. */
  const small = (blocks: number, extra: Partial<EngineConfig> = {}): Partial<EngineConfig> => ({
    intraOpThreads: 1,
    blockSize: testBlockSize(4),
    kvCacheBytes: kvBytesFor(model, testBlockSize(4), testPoolBlocks(blocks, 4)),
    ...extra,
  });

  describe('refusals', () => {
    it('bad requests are refused with stable codes and fields, and change nothing', async () => {
      const engine = new Engine(model, small(16, { maxN: 4 }));
      const ok = greedyParams(4);
      const cases: { req: GenerateRequest; code: string; field?: string }[] = [
        { req: { prompt: [], params: ok }, code: 'empty_prompt', field: 'prompt' },
        { req: { prompt: [1, 257], params: ok }, code: 'invalid_token', field: 'prompt' },
        { req: { prompt: [-1], params: ok }, code: 'invalid_token', field: 'prompt' },
        { req: { prompt: [1.5], params: ok }, code: 'invalid_token', field: 'prompt' },
        {
          req: { prompt: Array(250).fill(65), params: greedyParams(7) },
          code: 'context_length_exceeded',
          field: 'max_tokens',
        },
        // 40 + 30 tokens need 18 blocks of 4; the pool has 16.
        {
          req: { prompt: Array(40).fill(65), params: greedyParams(30) },
          code: 'kv_capacity_exceeded',
          field: 'max_tokens',
        },
        { req: { prompt: [65], params: { ...ok, n: 0 } }, code: 'invalid_sampling_params', field: 'n' },
        { req: { prompt: [65], params: { ...ok, n: 5 } }, code: 'invalid_sampling_params', field: 'n' },
        { req: { prompt: [65], params: { ...ok, n: 1.5 } }, code: 'invalid_sampling_params', field: 'n' },
        {
          req: { prompt: [65], params: { ...ok, maxTokens: 0 } },
          code: 'invalid_sampling_params',
          field: 'max_tokens',
        },
      ];
      const before = load(engine.stats());
      for (const { req, code, field } of cases) {
        const r = engine.submit(req);
        assert.equal(r.ok, false, `${code}: refused`);
        if (r.ok) continue;
        assert.equal(r.error.code, code);
        assert.equal(r.error.field, field, `${code}: field`);
        assert.ok(r.error.message.length > 10, `${code}: a message`);
      }
      assert.deepEqual(load(engine.stats()), before);
      // Right at the limits is fine: 249 + 7 = 256 is the whole context; 40 + 24 = 64 slots is the whole pool.
      const ctx = new Engine(model, { intraOpThreads: 1, kvCacheBytes: kvBytesFor(model, 16, 32) });
      const edges = await Promise.all([
        collect(mustSubmit(ctx, { prompt: Array(249).fill(65), params: greedyParams(7) }).events, 1),
        collect(mustSubmit(engine, { prompt: Array(40).fill(65), params: greedyParams(24) }).events, 1),
      ]);
      assert.deepEqual(
        edges.map((c) => [c.finishes[0]!.reason, c.tokens[0]!.length]),
        [
          ['length', 7],
          ['length', 24],
        ],
      );
    });

    it('queue_full when maxWaiting requests already wait; accepted again once the queue drains', async () => {
      const engine = new Engine(model, small(64, { maxWaiting: 3 }));
      const accepted: Promise<unknown>[] = [];
      let refusal: { code: string; waiting: number } | undefined;
      for (let i = 0; i < 10 && !refusal; i++) {
        const r = engine.submit({ prompt: bytes(`request ${i}`), params: greedyParams(3) });
        if (r.ok) accepted.push(collect(r.events, 1));
        else refusal = { code: r.error.code, waiting: engine.stats().waiting };
      }
      assert.ok(refusal, 'a full queue refuses');
      assert.equal(refusal.code, 'queue_full');
      assert.equal(refusal.waiting, 3);
      await Promise.all(accepted);
      await engine.idle();
      assert.equal(engine.stats().waiting, 0);
      const again = engine.submit({ prompt: bytes('again'), params: greedyParams(2) });
      assert.ok(again.ok);
      await collect(again.events, 1);
    });

    it('engine_draining after drain(), while admitted requests still finish', async () => {
      const engine = new Engine(model, small(64));
      const prompt = bytes('First Citizen:\n');
      const running = collect(mustSubmit(engine, { prompt, params: greedyParams(12) }).events, 1);
      const drained = engine.drain();
      const r = engine.submit({ prompt, params: greedyParams(2) });
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, 'engine_draining');
      await drained;
      const out = await running;
      assert.deepEqual(out.tokens[0], await ref.greedyIgnoringEos(prompt, 12, eos));
      assert.equal(out.finishes[0]!.reason, 'length');
      const after = engine.submit({ prompt, params: greedyParams(2) });
      assert.equal(after.ok ? 'accepted' : after.error.code, 'engine_draining');
    });

    it('refusals in the middle of a run do not disturb running requests', async () => {
      const bad: GenerateRequest[] = [
        { prompt: [], params: greedyParams(4) },
        { prompt: [300], params: greedyParams(4) },
        { prompt: Array(200).fill(66), params: greedyParams(100) },
        { prompt: Array(100).fill(66), params: greedyParams(100) },
        { prompt: [66], params: { ...greedyParams(4), n: 99 } },
      ];
      let steps = 0;
      let refusals = 0;
      const hookErrors: unknown[] = [];
      const engine = new Engine(model, small(48), {
        onStep: (e) => {
          try {
            e.checkInvariants();
            const before = load(e.stats());
            const r = e.submit(bad[steps++ % bad.length]!);
            assert.equal(r.ok, false);
            refusals++;
            assert.deepEqual(load(e.stats()), before);
          } catch (err) {
            hookErrors.push(err);
          }
        },
      });
      const prompts = [
        'To be, or not',
        'ROMEO:\n',
        'the quick brown fox',
        'A',
        'qwertyuiop',
        'It was the best',
      ].map(bytes);
      const runs = prompts.map((prompt) =>
        collect(mustSubmit(engine, { prompt, params: greedyParams(16) }).events, 1),
      );
      const outs = await Promise.all(runs);
      await engine.idle();
      assert.deepEqual(hookErrors, []);
      assert.ok(refusals >= 16, `refusals happened during the run (${refusals})`);
      for (const [i, prompt] of prompts.entries()) {
        assert.deepEqual(outs[i]!.tokens[0], await ref.greedyIgnoringEos(prompt, 16, eos), `request ${i}`);
      }
    });
  });

  it('a failing step ends its requests with an error event, frees their blocks and does not spin', async () => {
    // A model of its own, released under the engine: every step fails.
    const released = await loadModel(TINY_MODEL_DIR, testLoadOptions({ intraOpThreads: 1 }));
    const engine = new Engine(released, small(16));
    await released.release();
    const r = engine.submit({ prompt: bytes('hello'), params: greedyParams(2) });
    assert.ok(r.ok);
    const events = [];
    for await (const ev of r.events) events.push(ev);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'error');
    assert.equal(events[0]!.type === 'error' && events[0]!.code, 'engine_step_failed');
    await assert.rejects(engine.idle());
    const s = engine.stats();
    assert.equal(s.kvFreeBlocks, s.kvTotalBlocks, 'the failed request gave its blocks back');
    assert.equal(s.running + s.waiting, 0);
    // A later request fails the same way instead of hanging, and timers still run (no spinning loop).
    const again = engine.submit({ prompt: bytes('again'), params: greedyParams(2) });
    assert.ok(again.ok);
    const againEvents = [];
    for await (const ev of again.events) againEvents.push(ev);
    assert.deepEqual(
      againEvents.map((ev) => ev.type),
      ['error'],
    );
    const timer = await new Promise<string>((resolve) => setTimeout(() => resolve('timers still run'), 10));
    assert.equal(timer, 'timers still run');
  });

  describe('streaming', () => {
    const MAX = 40;

    /** Greedy reference text, decoded the way the engine decodes its stream. */
    async function referenceText(prompt: number[], maxTokens = MAX): Promise<string> {
      return tokenizer.decode(await ref.greedyIgnoringEos(prompt, maxTokens, eos));
    }

    async function generate(engine: Engine, req: GenerateRequest) {
      const out = await collect(mustSubmit(engine, req).events, req.params.n);
      return { text: out.text[0]!, finish: out.finishes[0]!, tokens: out.tokens[0]!, all: out };
    }

    it('a stop string ends the sample with reason stop and is not emitted', async () => {
      // Find, from the reference's output, a two-character stop string that first occurs after some text,
      // and whose first character occurs before it (so the matcher must hold text back and release it).
      let chosen: { prompt: number[]; text: string; stop: string; at: number } | undefined;
      for (const p of [
        'The ',
        'to be or not',
        'A',
        'zyxwvutsrqponmlkjihgfedcba zyxwvutsrq',
        'xylophone xerox xenon',
      ]) {
        const prompt = bytes(p);
        const text = await referenceText(prompt);
        for (let k = 2; k < text.length && !chosen; k++) {
          const stop = text.slice(k - 1, k + 1);
          if (stop.includes('\uFFFD') || text[k] === text[k - 1] || text.indexOf(stop) !== k - 1) continue;
          if (!text.slice(0, k - 1).includes(stop[0]!)) continue;
          chosen = { prompt, text, stop, at: k - 1 };
        }
        if (chosen) break;
      }
      assert.ok(chosen, 'no usable stop string in the reference outputs');
      const { prompt, text, stop, at } = chosen;
      const engine = new Engine(model, small(64));
      for (const stops of [[stop], ['\u0000never\u0000', stop]]) {
        const out = await generate(engine, { prompt, params: greedyParams(MAX, { stop: stops }) });
        assert.equal(out.finish.reason, 'stop');
        assert.equal(out.text, text.slice(0, at), `text up to the stop string ${JSON.stringify(stop)}`);
        assert.ok(!out.text.includes(stop));
        assert.ok(out.tokens.length < MAX);
        assert.equal(out.finish.completionTokens, out.tokens.length);
      }
      await engine.idle();
    });

    it('maxTokens ends with reason length; text held back for a possible stop string comes out at the end', async () => {
      const prompt = bytes('The ');
      const text = await referenceText(prompt);
      const last = text.at(-1)!;
      // Starts with the last character, never completes: that character is held until the finish.
      const stop = `${last}\u0001`;
      assert.ok(!text.includes(stop));
      const engine = new Engine(model, small(64));
      const out = await generate(engine, { prompt, params: greedyParams(MAX, { stop: [stop] }) });
      assert.equal(out.finish.reason, 'length');
      assert.equal(out.finish.completionTokens, MAX);
      assert.equal(out.tokens.length, MAX);
      assert.equal(out.text, text);
      assert.ok(out.finish.text.endsWith(last), 'the held-back tail is released by the finish event');
      const plain = await generate(engine, { prompt, params: greedyParams(7) });
      assert.equal(plain.finish.reason, 'length');
      assert.deepEqual(plain.tokens, await ref.greedyIgnoringEos(prompt, 7, eos));
    });

    it('abort mid-stream ends with reason abort and frees all blocks', async () => {
      for (const how of ['engine.abort', 'signal'] as const) {
        const engine = new Engine(model, small(64, { enablePrefixCaching: false }));
        const controller = new AbortController();
        const r = mustSubmit(engine, {
          prompt: bytes('ROMEO:\nBut, soft!'),
          params: greedyParams(200),
          signal: controller.signal,
        });
        const bystanderPrompt = bytes('To be, or not to be');
        const bystander = collect(
          mustSubmit(engine, { prompt: bystanderPrompt, params: greedyParams(20) }).events,
          1,
        );
        let tokens = 0;
        let usedWhileRunning = 0;
        let finish: string | undefined;
        for await (const ev of r.events) {
          if (ev.type === 'finish') finish = ev.reason;
          else if (++tokens === 3) {
            const s = engine.stats();
            usedWhileRunning = s.kvTotalBlocks - s.kvFreeBlocks;
            if (how === 'signal') controller.abort();
            else assert.equal(engine.abort(r.requestId), true);
          }
        }
        assert.equal(finish, 'abort', how);
        assert.ok(tokens >= 3 && tokens < 10, `${how}: stopped soon after the abort (${tokens} tokens)`);
        assert.ok(usedWhileRunning > 0);
        const b = await bystander;
        assert.deepEqual(
          b.tokens[0],
          await ref.greedyIgnoringEos(bystanderPrompt, 20, eos),
          `${how}: the bystander is untouched`,
        );
        await engine.idle();
        const s = engine.stats();
        assert.equal(s.kvFreeBlocks, s.kvTotalBlocks, `${how}: every block is free`);
        assert.equal(s.running + s.waiting, 0);
        assert.equal(engine.abort(r.requestId), false, 'a finished request cannot be aborted again');
        engine.checkInvariants();
      }
    });

    it('with a tiny pool, interactive (priority 0) requests are never preempted; batch ones are', async (t) => {
      const batch = ['aaaa bbbb c', 'dddd eeee f', 'gggg hhhh i', 'jjjj kkkk l'].map(bytes);
      const interactive = ['ROMEO:\nBut,', 'First Cit:\n'].map(bytes);
      // 16 blocks of 4: each batch request needs 7 (11 + 17 tokens), each interactive one 6 (11 + 13).
      const hookErrors: unknown[] = [];
      const runs: {
        prompt: number[];
        maxTokens: number;
        priority: 0 | 1;
        out: ReturnType<typeof collect>;
      }[] = [];
      let steps = 0;
      const submit = (engine: Engine, prompt: number[], maxTokens: number, priority: 0 | 1) =>
        runs.push({
          prompt,
          maxTokens,
          priority,
          out: collect(mustSubmit(engine, { prompt, params: greedyParams(maxTokens), priority }).events, 1),
        });
      const engine = new Engine(model, small(16), {
        onStep: (e) => {
          try {
            e.checkInvariants();
            if (++steps === 2) for (const p of interactive) submit(e, p, 13, 0);
          } catch (err) {
            hookErrors.push(err);
          }
        },
      });
      for (const p of batch) submit(engine, p, 17, 1);
      await engine.idle();
      assert.equal(runs.length, batch.length + interactive.length);
      const outs = await Promise.all(runs.map((r) => r.out));
      assert.deepEqual(hookErrors, []);
      let batchPreemptions = 0;
      for (const [i, r] of runs.entries()) {
        const f = outs[i]!.finishes[0]!;
        if (r.priority === 0) assert.equal(f.preemptions, 0, `interactive request ${i} was preempted`);
        else batchPreemptions += f.preemptions;
        assert.deepEqual(
          outs[i]!.tokens[0],
          await ref.greedyIgnoringEos(r.prompt, r.maxTokens, eos),
          `request ${i}`,
        );
      }
      t.diagnostic(`batch requests were preempted ${batchPreemptions} times`);
      assert.ok(batchPreemptions > 0, 'the pool was small enough to preempt batch requests');
      assert.equal(
        batchPreemptions,
        engine.stats().preemptions,
        'every preemption is accounted to a batch request',
      );
    });

    it('n=2 shares the prompt blocks after the fork, and copy-on-write keeps both samples correct', async () => {
      const prompt = bytes('ROMEO:\nBut, soft! what light through yonde'); // 42 tokens: the last block is partial
      const blockSize = testBlockSize(4);
      assert.notEqual(prompt.length % blockSize, 0);
      const promptBlocks = Math.ceil(prompt.length / blockSize);
      /** Per step: tokens sampled so far and blocks in use after the step. */
      type Use = { sampled: number; used: number };
      const record = (log: Use[]) => (e: Engine) => {
        e.checkInvariants();
        const s = e.stats();
        log.push({ sampled: s.tokensSampled, used: s.kvTotalBlocks - s.kvFreeBlocks });
      };
      /** Blocks in use after the first step by which both samples had their first token. */
      const bothStarted = (log: Use[]) => log.findIndex((u) => u.sampled >= 2);
      const config = small(64, { enablePrefixCaching: false });

      const forkedLog: Use[] = [];
      const forked = new Engine(model, config, { onStep: record(forkedLog) });
      const two = await collect(mustSubmit(forked, { prompt, params: greedyParams(12, { n: 2 }) }).events, 2);

      const separateLog: Use[] = [];
      const separate = new Engine(model, config, { onStep: record(separateLog) });
      const ones = await Promise.all(
        [0, 1].map(() => collect(mustSubmit(separate, { prompt, params: greedyParams(12) }).events, 1)),
      );

      const f = bothStarted(forkedLog);
      assert.equal(f, 0, 'the fork happens in the step that finishes the prompt');
      assert.equal(
        forkedLog[f]!.used,
        promptBlocks,
        'right after the fork both samples hold the same prompt blocks',
      );
      const sep = separateLog[bothStarted(separateLog)]!.used;
      assert.equal(sep, 2 * promptBlocks);
      assert.ok(forkedLog[f]!.used < sep);
      assert.equal(
        forkedLog[f + 1]!.used,
        promptBlocks + 1,
        'the first write copies only the shared partial block',
      );

      const expected = await ref.greedyIgnoringEos(prompt, 12, eos);
      assert.deepEqual(two.tokens, [expected, expected], 'both samples of n=2 equal the reference');
      assert.deepEqual(
        ones.map((o) => o.tokens[0]),
        [expected, expected],
      );
      // The tiny model's greedy choice is robust to small errors; the logprobs are not. Each sample reads
      // the shared prompt blocks and its own copy of the partial one: it must match a request of its own.
      for (const i of [0, 1]) {
        two.logprobs[i]!.forEach((lp, t) => {
          const alone = ones[0]!.logprobs[0]![t]!;
          assert.ok(Math.abs(lp - alone) <= 1e-4, `sample ${i} token ${t}: logprob ${lp} vs ${alone} alone`);
        });
      }
      assert.deepEqual(
        two.finishes.map((f) => f.reason),
        ['length', 'length'],
      );
      for (const e of [forked, separate]) {
        await e.idle();
        assert.equal(e.stats().kvFreeBlocks, e.stats().kvTotalBlocks);
      }
    });
  });
});
