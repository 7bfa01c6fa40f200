/**
 * npm run bench:controller [-- --json] [--deployments 1000] [--ticks 60] [--tick-ms 500] [--policy keepalive]
 *
 * One controller tick at scale, against a real redis-server on loopback: an hour of request history for
 * every deployment is written through RedisHistoryStore (as gateways do), then each tick brings all
 * deployments' DemandHistory up to date through RedisDemandFeed (one round trip) and asks the policy to
 * decide for each, while a gateway keeps recording live traffic. The first tick (backfill of 14 days)
 * is reported apart. Also: commands per second one gateway's history writes cost under load.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { describeMachine } from '../../runtime/bench/machine.ts';
import { RedisHistoryStore } from '../../gateway/request-history/index.ts';
import { RedisDemandFeed } from '../demand-feed/index.ts';
import { policyNamed, type PolicyConfig, type PoolState } from '../policies/index.ts';
import { launchRedis } from '../../gateway/bench/redis-launcher.ts';
import { mulberry32 } from '../sim/prng.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    deployments: { type: 'string', default: '1000' },
    ticks: { type: 'string', default: '60' },
    'tick-ms': { type: 'string', default: '500' },
    policy: { type: 'string', default: 'keepalive' },
    'load-records': { type: 'string', default: '100000' },
  },
});
const log = (...a: unknown[]): void => (o.json ? console.error(...a) : console.log(...a));
const DEPLOYMENTS = Number(o.deployments);
const TICKS = Number(o.ticks);
const TICK_MS = Number(o['tick-ms']);
const LOAD_RECORDS = Number(o['load-records']);
const policy = policyNamed(o.policy);
const HOUR = 3_600_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round2 = (x: number): number => Math.round(x * 100) / 100;
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
};

const random = mulberry32(42); // the same traffic every run
/** One request, recorded as a gateway records it: its arrival, then its end. */
function serve(store: RedisHistoryStore, model: string, at: number): void {
  store.recordArrival(model, at);
  store.recordEnd({
    model,
    at,
    promptTokens: 1 + Math.floor(random() * 500),
    outputTokens: Math.floor(random() * 200),
    ttftMs: 20 + random() * 80,
    outcome: 'ok',
  });
}

// Heavy-tailed demand, as serverless traces are: a few busy deployments, a long tail of sparse ones.
const names = Array.from({ length: DEPLOYMENTS }, (_, i) => `dep-${String(i).padStart(4, '0')}`);
const rates = names.map((_, i) => 2 / (1 + i / 10)); // requests per second
const recorded = new Map<string, number[]>(names.map((n) => [n, []]));

/** Calls of the script that carries history writes (EVALSHA, and EVAL when Redis lost the script). */
async function flushCommands(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) n += Number(m[2]);
  return n;
}

const redisServer = await launchRedis();
const admin = new Redis(redisServer.url);
try {
  log(`machine: ${describeMachine()}`);

  // 1. An hour of history for every deployment, through the store the gateways use.
  const writer = new RedisHistoryStore({ url: redisServer.url, flushIntervalMs: 0, maxBuffered: 1_000_000 });
  const writtenTo = Date.now();
  let written = 0;
  let t0 = performance.now();
  for (const [i, name] of names.entries()) {
    const ats = recorded.get(name)!;
    for (let at = writtenTo - HOUR - Math.log(1 - random()) * (1000 / rates[i]!); at < writtenTo;) {
      serve(writer, name, at);
      ats.push(at);
      written += 1;
      if (writer.bufferedRecords >= 20_000) await writer.flush();
      at -= Math.log(1 - random()) * (1000 / rates[i]!);
    }
  }
  await writer.close();
  const writeMs = performance.now() - t0;
  const mem = /used_memory:(\d+)/.exec(await admin.info('memory'))![1]!;
  const keys = await admin.dbsize();
  log(
    `history: ${written} requests over the last hour for ${DEPLOYMENTS} deployments, written in ${writeMs.toFixed(0)} ms; Redis holds ${keys} keys, ${(Number(mem) / 2 ** 20).toFixed(1)} MiB`,
  );

  // 2. One gateway under load: how many history commands per second it sends.
  async function load(
    flushIntervalMs: number,
    flushAtBuffered: number,
  ): Promise<{ recordsPerS: number; cmdsPerS: number }> {
    const store = new RedisHistoryStore({
      url: redisServer.url,
      keyPrefix: 'wg:load:',
      flushIntervalMs,
      flushAtBuffered,
    });
    serve(store, 'warm', Date.now());
    await store.flush();
    const before = await flushCommands(admin);
    const start = performance.now();
    for (let i = 0; i < LOAD_RECORDS; i++) {
      serve(store, names[i % 100]!, Date.now());
      if (i % 500 === 499) await sleep(5); // ~1-2 s for 100k, with room for replies and timers
    }
    await store.flush();
    const s = (performance.now() - start) / 1000;
    const cmds = (await flushCommands(admin)) - before;
    await store.close();
    return { recordsPerS: LOAD_RECORDS / s, cmdsPerS: cmds / s };
  }
  const loadDefault = await load(250, 10_000);
  const loadEager = await load(10, 100);
  log(
    `one gateway's history writes: ${loadDefault.recordsPerS.toFixed(0)} req/s -> ${loadDefault.cmdsPerS.toFixed(1)} commands/s (defaults); ` +
      `${loadEager.recordsPerS.toFixed(0)} req/s -> ${loadEager.cmdsPerS.toFixed(1)} commands/s (flushIntervalMs 10, flushAtBuffered 100)`,
  );

  // 3. Ticks, while a gateway records live traffic at the same rates.
  const gateway = new RedisHistoryStore({ url: redisServer.url });
  let lastLive = Date.now();
  const live = setInterval(() => {
    const now = Date.now();
    const dt = (now - lastLive) / 1000;
    lastLive = now;
    for (const [i, name] of names.entries()) {
      const expected = rates[i]! * dt;
      const n = Math.floor(expected) + (random() < expected % 1 ? 1 : 0);
      for (let k = 0; k < n; k++) {
        // A gateway stamps a request when it sees it: after a stall, a burst at `now`, not the past.
        const at = now - random() * Math.min(dt * 1000, 50);
        serve(gateway, name, at);
        recorded.get(name)!.push(at);
      }
    }
  }, 50);
  const feed = new RedisDemandFeed({ url: redisServer.url });
  const config: PolicyConfig = {
    coldStartMs: 5000,
    capacityPerInstance: 4,
    serviceMs: 500,
    minInstances: 0,
    maxInstances: 20,
    tickMs: TICK_MS,
  };
  const pool: PoolState = { instances: 1, ready: 1, inFlight: 0, queued: 0 };
  const ticks: { totalMs: number; feedMs: number; decideMs: number }[] = [];
  let readThrough = 0;
  let desiredSum = 0;
  try {
    let next = performance.now();
    for (let k = 0; k <= TICKS; k++) {
      await sleep(Math.max(0, next - performance.now()));
      next += TICK_MS;
      t0 = performance.now();
      const now = Date.now();
      const u = await feed.update(names, now);
      if (!u.ok) throw u.error;
      if (u.failed.length > 0) throw u.failed[0]!.error;
      readThrough = u.readThrough;
      const t1 = performance.now();
      for (const d of names)
        desiredSum += policy.decide({ config, history: feed.history(d)!, pool, now }).desired;
      const t2 = performance.now();
      ticks.push({ totalMs: t2 - t0, feedMs: t1 - t0, decideMs: t2 - t1 });
    }
  } finally {
    clearInterval(live);
    await gateway.close();
  }
  // Every arrival before the last read instant must be in the histories, exactly once.
  let mismatched = 0;
  for (const d of names) {
    const want = recorded.get(d)!.filter((at) => at < readThrough).length;
    if (feed.history(d)!.totalArrivals !== want) mismatched += 1;
  }
  await feed.close();

  const [backfill, ...steady] = ticks;
  const total = steady.map((t) => t.totalMs);
  const result = {
    deployments: DEPLOYMENTS,
    policy: policy.name,
    ticks: steady.length,
    tick_ms_p50: round2(quantile(total, 0.5)),
    tick_ms_p99: round2(quantile(total, 0.99)),
    tick_ms_max: round2(Math.max(...total)),
    feed_ms_p50: round2(
      quantile(
        steady.map((t) => t.feedMs),
        0.5,
      ),
    ),
    decide_ms_p50: round2(
      quantile(
        steady.map((t) => t.decideMs),
        0.5,
      ),
    ),
    backfill_ms: round2(backfill!.totalMs),
    backfill_feed_ms: round2(backfill!.feedMs),
    history_requests: written,
    history_write_ms: Math.round(writeMs),
    redis_keys: keys,
    redis_used_memory_mib: round2(Number(mem) / 2 ** 20),
    histories_mismatched: mismatched,
    gateway_load_records_per_s: Math.round(loadDefault.recordsPerS),
    gateway_write_cmds_per_s: round2(loadDefault.cmdsPerS),
    gateway_eager_load_records_per_s: Math.round(loadEager.recordsPerS),
    gateway_eager_write_cmds_per_s: round2(loadEager.cmdsPerS),
    machine: describeMachine(),
  };
  log(
    `backfill tick (14 days for ${DEPLOYMENTS} deployments): ${result.backfill_ms} ms (feed ${result.backfill_feed_ms} ms)`,
  );
  log(
    `tick (${DEPLOYMENTS} deployments, ${steady.length} ticks): p50 ${result.tick_ms_p50} ms, p99 ${result.tick_ms_p99} ms, max ${result.tick_ms_max} ms ` +
      `(feed p50 ${result.feed_ms_p50} ms, ${policy.name}.decide x${DEPLOYMENTS} p50 ${result.decide_ms_p50} ms)`,
  );
  log(
    `histories matching every recorded arrival: ${DEPLOYMENTS - mismatched}/${DEPLOYMENTS} (desired sum ${desiredSum})`,
  );
  if (o.json) console.log(JSON.stringify(result));
} finally {
  admin.disconnect();
  await redisServer.stop();
}
