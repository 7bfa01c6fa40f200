// Live: gateway + controller + local provider + real redis-server replay a compressed slice of the Azure
// Functions 2019 trace (test/fixtures; a timer function: 14 calls every 10 minutes, one minute compressed to one second).
// The predictive controller learns the period from the request history in Redis and has an instance
// ready before each later burst arrives, releasing it in between (asserted from the instances' state
// timestamps against the arrival times).
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { mulberry32 } from '../../warmpool/sim/prng.ts';
import { deployment } from '../support/platform.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

const TRACE = new URL('../fixtures/azure2019-sample-invocations.csv', import.meta.url).pathname;
const COMPRESSION = 60; // one trace minute -> one second
const BURSTS = 7;

/** Per-minute counts of the trace's first function (a timer). */
async function firstFunctionMinutes(): Promise<number[]> {
  const lines = createInterface({ input: createReadStream(TRACE) });
  let n = 0;
  for await (const line of lines) {
    if (n++ === 1) {
      lines.close();
      return line.split(',').slice(3).map(Number);
    }
  }
  throw new Error('trace has no data row');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(
  'predictive controller, live (real processes, redis-server, trace replay)',
  { timeout: 240_000 },
  () => {
    let redis: RedisServer;
    let wg: RunningWarmgate;
    const spec = deployment('timer', 'generative', 'tiny', {
      batching: { kvCacheBytes: 4 * 2 ** 20 },
      scaling: {
        minInstances: 0,
        maxInstances: 2,
        warmBuffer: 0,
        keepAliveMs: 0,
        ttftSloMs: 1000,
        policy: 'predictive',
      },
    });
    before(async () => {
      redis = await startRedisServer();
      wg = await startWarmgate({ port: 0, tickMs: 250, redisUrl: redis.url, deployments: [spec] });
    });
    after(async () => {
      await wg?.close();
      await redis?.stop();
    });

    it('has an instance ready before later bursts arrive, and none between them', async () => {
      const minutes = await firstFunctionMinutes();
      const active = minutes.flatMap((c, m) => (c > 0 ? [m] : [])).slice(0, BURSTS);
      assert.equal(active.length, BURSTS);
      const rand = mulberry32(7); // arrivals spread within each minute the same way every run
      // Arrival times (ms after the start) of every call, grouped by burst.
      const bursts = active.map((m) =>
        Array.from({ length: minutes[m]! }, () => (m - active[0]! + rand()) * (60_000 / COMPRESSION)).sort(
          (a, b) => a - b,
        ),
      );

      // The pool, sampled every 50 ms: live instances over time, and when each instance became ready.
      const live: [number, number][] = [];
      const readyAt = new Map<string, number>();
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const pool = wg.controller.status().find((p) => p.deployment === 'timer');
          const instances = pool?.instances ?? [];
          live.push([
            Date.now(),
            instances.filter((i) => !['draining', 'stopped', 'failed'].includes(i.state)).length,
          ]);
          for (const i of instances) if (i.readyAt !== undefined) readyAt.set(i.id, i.readyAt);
          await sleep(50);
        }
      })();

      const t0 = Date.now() + 500;
      const arrivals: number[][] = bursts.map((b) => b.map((ms) => t0 + ms));
      const results = await Promise.all(
        arrivals.flat().map(async (at) => {
          await sleep(Math.max(0, at - Date.now()));
          const res = await fetch(`${wg.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'timer', prompt: 'tick', max_tokens: 2 }),
          });
          await res.text();
          return res.status;
        }),
      );
      sampling = false;
      await sampler;
      assert.deepEqual(
        results.filter((s) => s !== 200),
        [],
        'every call served',
      );

      // For each burst after the policy has seen three: was an instance ready before its first arrival,
      // and had the pool been at zero in the gap before it (so it was started ahead, not kept)?
      const verdicts = arrivals.slice(3).map((b, k) => {
        const first = b[0]!;
        const prevEnd = arrivals[k + 2]!.at(-1)!;
        const readyBefore = [...readyAt.values()].some((r) => r > prevEnd && r <= first);
        const zeroInGap = live.some(([t, n]) => t > prevEnd + 1000 && t < first - 1000 && n === 0);
        return { first, readyBefore, zeroInGap };
      });
      const prewarmed = verdicts.filter((v) => v.readyBefore && v.zeroInGap).length;
      assert.ok(
        prewarmed >= verdicts.length - 1,
        `bursts 4-${BURSTS}: ${JSON.stringify(verdicts)}; decisions:\n${wg.controller
          .decisions('timer')
          .slice(-12)
          .map((d) => `${d.at - t0} ${d.desired} ${d.reason}`)
          .join('\n')}`,
      );
    });
  },
);
