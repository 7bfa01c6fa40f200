import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { POLICIES, type Policy } from '../../../warmpool/policies/index.ts';
import { readTrace, runPolicy, type EngineSettings, type Trace } from '../../../warmpool/sim/index.ts';
import { AZURE, csvTrace, tempDir } from './helpers.ts';

const dir = tempDir();
after(() => dir.remove());

const settings = (t: Trace, o: Partial<EngineSettings> = {}): EngineSettings => ({
  coldStartMs: 10_000,
  slots: 8,
  tickMs: 2000,
  maxInstances: 100,
  knobs: { keepAliveMs: 600_000 },
  startMs: t.startMs,
  endMs: t.endMs,
  ...o,
});

let n = 0;
async function simulate(
  rows: [number, string, number][],
  o: Partial<EngineSettings> = {},
  policy: Policy = POLICIES.keepalive,
) {
  const t = await readTrace({ file: dir.file(`t${n++}.csv`, csvTrace(rows)), serviceMs: 1 });
  return runPolicy(t, policy, settings(t, o), 1);
}

describe('simulation engine against hand-computed runs', () => {
  it('one request at t=0: started at once, served cold after the 10 s cold start, kept to the end', async () => {
    // The span is the trace's minute: the instance lives 0 → 60 s, serves 10 → 11 s, idles 49 s.
    const { summary: s } = await simulate([[0, 'a', 1000]]);
    assert.deepEqual(
      [s.requests, s.served, s.cold_starts, s.cold_start_pct, s.wait_ms_p50, s.wait_ms_p99],
      [1, 1, 1, 100, 10_000, 10_000],
    );
    assert.deepEqual([s.instance_seconds, s.idle_instance_seconds, s.instances_started], [60, 49, 1]);
  });

  it('keep-alive ends at the first tick 10 min after the last arrival', async () => {
    // a: up 0 → 600 s (the tick at 600 s sees no arrival for 10 min), idle from 11 s: 589 s.
    // b: one request at 20 min: up 1200 → 1260 s (end of the span), idle 49 s.
    const { summary: s } = await simulate([
      [0, 'a', 1000],
      [1_200_000, 'b', 1000],
    ]);
    assert.deepEqual([s.cold_starts, s.instance_seconds, s.idle_instance_seconds], [2, 660, 638]);
  });

  it('a request in the keep-alive window finds the instance warm', async () => {
    const { summary: s, series } = await simulate([
      [0, 'a', 1000],
      [20_000, 'a', 1000],
    ]);
    assert.deepEqual([s.cold_starts, s.cold_start_pct, s.wait_ms_p50, s.wait_ms_p99], [1, 50, 0, 10_000]);
    // Ready at 10 s, busy 10-11 s and 20-21 s: idle 9 s + 39 s.
    assert.deepEqual([s.instance_seconds, s.idle_instance_seconds], [60, 48]);
    assert.deepEqual([series.arrivals[0], series.coldStarts[0]], [2, 1]);
  });

  it('a request behind a busy slot waits for the next tick to start an instance, and that wait is cold', async () => {
    // One slot. #1 at 0 s: cold, served 10 → 40 s. #2 at 15 s: the ready instance is busy, so it queues
    // (no gateway kick: capacity exists); the tick at 16 s wants 2 instances; the new one is ready at 26 s.
    const { summary: s } = await simulate(
      [
        [0, 'a', 30_000],
        [15_000, 'a', 1000],
      ],
      { slots: 1 },
    );
    assert.deepEqual(
      [s.cold_starts, s.wait_ms_p50, s.wait_ms_p99, s.instances_started],
      [2, 10_000, 11_000, 2],
    );
    // Instance 1: 0 → 60 s, idle 40 → 60 s. Instance 2: 16 → 60 s, idle 27 → 60 s.
    assert.deepEqual([s.instance_seconds, s.idle_instance_seconds], [104, 53]);
  });

  it('a request behind a busy slot is served when it frees, not cold, if no new instance comes first', async () => {
    // Eight slots, nine requests at once: the ninth waits for the first to finish (10 s + 2 s).
    const rows: [number, string, number][] = Array.from({ length: 8 }, () => [0, 'a', 2000]);
    rows.push([1, 'a', 100]);
    const { summary: s } = await simulate(rows, { maxInstances: 1 });
    assert.equal(s.cold_starts, 8);
    assert.equal(s.served, 9);
    assert.equal(s.wait_ms_p99, 11_999);
  });

  it('scale-down never drops a request: a busy instance drains and stops when its requests are done', async () => {
    // Two slots, keep-alive 0. #1 (20 s) and #2 (40 s) at 0 s, #3 (40 s) at 1 s. #1 starts A (ready
    // 10 s: serves #1, #2); the tick at 2 s wants 2 for 3 queued: B (ready 12 s: serves #3). At 30 s #1
    // is done and the tick wants 1 for 2 in flight: nothing is idle, so A drains (takes nothing new).
    // #4 (30 s) at 35 s goes to B's free slot, not A's; the tick at 36 s wants 2 again and takes A back;
    // A idles at 50 s and stops at that tick; B serves #4 to 65 s, past the span. 50 + 63 instance-s.
    // (Without draining, #4 would go to A: A up to 65 s, B stopped at 52 s: 115.)
    const { summary: s } = await simulate(
      [
        [0, 'a', 20_000],
        [0, 'a', 40_000],
        [1000, 'a', 40_000],
        [35_000, 'a', 30_000],
      ],
      { slots: 2, knobs: { keepAliveMs: 0 } },
    );
    assert.deepEqual([s.served, s.cold_starts, s.wait_ms_p50, s.wait_ms_p99], [4, 3, 10_000, 11_000]);
    assert.deepEqual([s.instances_started, s.instance_seconds, s.idle_instance_seconds], [2, 113, 0]);
  });

  it('scale-down cancels a starting instance before it stops a ready one, as the live pool does', async () => {
    // #1 (1 s) at 0 s starts A (ready 10 s). The policy wants 2 at the tick at 12 s (B starts, ready
    // at 22 s) and 1 from 14 s: B is cancelled and A, ready and idle, stays, so #2 at 15 s is served
    // warm at once. (Stopping A instead would leave #2 to wait for B: a second cold start.)
    const twoAt12: Policy = {
      name: 'scripted',
      knob: { name: 'none', values: [] },
      decide: ({ now }) => ({ desired: now === 12_000 ? 2 : 1, reason: 'scripted' }),
    };
    const { summary: s } = await simulate(
      [
        [0, 'a', 1000],
        [15_000, 'a', 1000],
      ],
      {},
      twoAt12,
    );
    assert.deepEqual([s.served, s.cold_starts, s.wait_ms_p99], [2, 1, 10_000]);
    // A up 0 → 60 s, idle 11 → 15 s and 16 → 60 s; B up 12 → 14 s.
    assert.deepEqual([s.instances_started, s.instance_seconds, s.idle_instance_seconds], [2, 62, 48]);
  });

  it('requests still in service at the end of the span keep their instance until done', async () => {
    const { summary: s } = await simulate([[0, 'a', 60_000]], { knobs: { keepAliveMs: 0 } });
    assert.deepEqual([s.served, s.instance_seconds, s.idle_instance_seconds], [1, 70, 0]);
  });
});

describe('simulation engine on the real trace (5 functions)', async () => {
  const trace = await readTrace({ file: AZURE, serviceMs: 1000, limitFunctions: 5 });
  for (const policy of Object.values(POLICIES)) {
    it(`${policy.name}: serves every request of the trace`, () => {
      const { summary, series } = runPolicy(trace, policy, settings(trace, { knobs: {} }), 1);
      assert.equal(summary.requests, trace.requests);
      assert.equal(summary.served, trace.requests);
      assert.equal(
        series.arrivals.reduce((a, b) => a + b, 0),
        trace.requests,
      );
      assert.ok(summary.idle_instance_seconds <= summary.instance_seconds);
      assert.ok(summary.cold_starts >= 1 && summary.cold_starts <= summary.requests);
    });
  }

  it('same seed, same result; another seed, other arrivals', () => {
    const run = (seed: number) => runPolicy(trace, POLICIES.keepalive, settings(trace, { knobs: {} }), seed);
    const a = run(3);
    assert.deepEqual(run(3), a);
    assert.notDeepEqual(run(4).summary, a.summary);
  });
});
