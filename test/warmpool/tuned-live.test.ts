// Live: gateway + controller + local provider + real redis-server, with a deployment on the self-tuning
// policy (time compressed through its knobs: a retune every 2 s over the last 30 s, from 4 arrivals,
// instead of every ten minutes over the last hour, from 20). Its traffic changes shape: first calls at
// random, 0.8 s apart on average, where holding an instance is cheapest at the deployment's price of a
// cold start (2 s of an idle instance); then pairs of calls 14 s apart, where holding an instance through
// each gap costs more than the pair's cold starts. The controller, backtesting the candidates on the
// deployment's own history in Redis, must settle on one policy by its backtests on the first shape and
// switch to another on the second. The same switch in simulated time, through decide():
// controller/decide-tuned.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mulberry32 } from '../../runtime/random/mulberry32.ts';
import type { RunningWarmgate } from '../../warmpool/platform.ts';
import { completionsAt, startLivePlatform } from '../support/live-platform.ts';
import { deployment } from '../support/platform.ts';

const RANDOM_MS = 36_000;
const MEAN_GAP_MS = 800;
const BURSTS = 5;
const BURST_EVERY_MS = 14_000;
const BURST_SIZE = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The choice a tuned decision names, and whether backtests made it (not the prior). */
function choiceOf(reason: string): { choice: string; backtested: boolean } | undefined {
  const m = /^tuned: ([a-z0-9 ]+) \((.*?)\);/.exec(reason);
  return m ? { choice: m[1]!, backtested: / idle s \+ \d+ cold × /.test(m[2]!) } : undefined;
}

describe('self-tuning controller, live (real processes, redis-server)', { timeout: 300_000 }, () => {
  let platform: Awaited<ReturnType<typeof startLivePlatform>>;
  let wg: RunningWarmgate;
  const spec = deployment('shifting', 'generative', 'tiny', {
    batching: { kvCacheBytes: 4 * 2 ** 20 },
    scaling: {
      minInstances: 0,
      maxInstances: 2,
      warmBuffer: 0,
      keepAliveMs: 0,
      ttftSloMs: 1000,
      policy: 'tuned',
      coldStartCost: 2,
      knobs: { retuneMs: 2000, tuneWindowMs: 30_000, tuneMinArrivals: 4 },
    },
  });
  before(async () => {
    platform = await startLivePlatform(spec);
    wg = platform.wg;
  });
  after(async () => {
    await platform?.close();
  });

  it('picks a policy by backtests on one traffic shape and switches when the shape changes', async (t) => {
    const decisions = new Map<number, string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const d of wg.controller.decisions('shifting')) decisions.set(d.at, d.reason);
        await sleep(100);
      }
    })();

    const t0 = Date.now() + 500;
    const rand = mulberry32(7);
    const arrivals: number[] = [];
    for (let t = 0; t < RANDOM_MS; t += Math.round(-Math.log(1 - rand()) * MEAN_GAP_MS))
      arrivals.push(t0 + t);
    const burstsFrom = t0 + RANDOM_MS + 2000;
    for (let k = 0; k < BURSTS; k++)
      for (let i = 0; i < BURST_SIZE; i++) arrivals.push(burstsFrom + k * BURST_EVERY_MS + i * 50);
    const until = burstsFrom + (BURSTS - 1) * BURST_EVERY_MS + 3000;

    const results = await completionsAt(wg.url, 'shifting', arrivals);
    await sleep(Math.max(0, until - Date.now()));
    sampling = false;
    await sampler;
    assert.deepEqual(
      results.filter((s) => s !== 200),
      [],
      'every call served',
    );

    const timeline = [...decisions].sort((a, b) => a[0] - b[0]);
    const explain = () => {
      const at = (t: number) => `${((t - t0) / 1000).toFixed(1)} s`;
      const lines = [`bursts from ${at(burstsFrom)}, until ${at(until)}`];
      let previous = '';
      for (const [t, reason] of timeline) {
        const c = choiceOf(reason);
        const gist = c ? `${c.choice} ${c.backtested}` : reason;
        if (gist !== previous) lines.push(`${at(t)}: ${reason}`);
        previous = gist;
      }
      return lines.join('\n');
    };
    // What the backtests chose at the end of each shape (the last 4 s of it, every decision agreeing).
    const settled = (from: number, to: number) => {
      // Decisions the policy made (a tick with requests waiting at zero scales up before asking it).
      const seen = timeline.filter(([t]) => t >= from && t < to).flatMap(([, r]) => choiceOf(r) ?? []);
      assert.ok(seen.length > 0, `no tuned decisions in [${from - t0}, ${to - t0}) ms\n${explain()}`);
      const first = seen[0]!;
      const agree = seen.every((c) => c.backtested && c.choice === first.choice);
      assert.ok(
        agree,
        `the choice was not settled by backtests in [${from - t0}, ${to - t0}) ms\n${explain()}`,
      );
      return first.choice;
    };
    const onRandom = settled(burstsFrom - 4000, burstsFrom);
    const onBursts = settled(until - 4000, until);
    t.diagnostic(explain());
    assert.notEqual(onBursts, onRandom, `the choice did not change with the traffic's shape\n${explain()}`);
  });
});
