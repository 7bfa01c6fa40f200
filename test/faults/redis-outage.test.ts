// Redis away for a while (killed, then restarted with its data: an append-only file, as in production):
// a platform replica (real process: gateway + controller + local provider, real tiny-model instance)
// keeps serving from its last known deployments and instances, with zero failed requests, starts no
// instance beside the one it had, and once Redis is back the request history in Redis counts every
// request sent. Then the history store's bound on what it holds for Redis, at its edge.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { after, before, describe, it } from 'node:test';
import { RedisHistoryStore } from '../../gateway/request-history/index.ts';
import { bucketKey, pageKey } from '../../gateway/request-history/keys.ts';
import { deployment } from '../support/platform.ts';
import { recordRequest } from '../support/record-request.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { alive, postJson, sleep, signal, until } from './support.ts';

const REPLICA = new URL('../support/platform-process.ts', import.meta.url).pathname;
/** The outage: the 30 s by default; WG_FAULT_REDIS_OUTAGE_MS shortens it for quick runs. */
const OUTAGE_MS = Number(process.env.WG_FAULT_REDIS_OUTAGE_MS ?? 30_000);

describe(
  'Redis away while a platform replica serves (real processes and redis-server)',
  { timeout: 120_000 },
  () => {
    let redis: RedisServer;
    let replica: ChildProcess | undefined;
    const stateDir = mkdtempSync(join(tmpdir(), 'wg-outage-'));
    const spec = deployment('tiny', 'generative', 'tiny', {
      batching: { kvCacheBytes: 4 * 2 ** 20 },
      scaling: { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
    });
    const records = () =>
      new Map(
        readdirSync(stateDir)
          .filter((f) => f.endsWith('.json'))
          .map((f) => JSON.parse(readFileSync(join(stateDir, f), 'utf8')) as { id: string; pid: number })
          .map((r) => [r.id, r.pid] as const),
      );

    before(async () => {
      redis = await startRedisServer({ persist: true });
    });
    after(async () => {
      signal(replica?.pid, 'SIGKILL');
      for (const pid of records().values()) signal(pid, 'SIGKILL');
      await redis?.stop();
      rmSync(stateDir, { recursive: true, force: true });
    });

    it(`serves a steady stream through a ${OUTAGE_MS} ms outage with zero failures; history catches up`, async () => {
      const options = {
        redisUrl: redis.url,
        instanceStateDir: stateDir,
        replicaId: 'outage',
        tickMs: 100,
        leaseTtlMs: 1500,
        pollIntervalMs: 100,
        deployments: [spec],
      };
      replica = spawn(process.execPath, ['--import', 'tsx', REPLICA, JSON.stringify(options)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const [line] = (await once(createInterface({ input: replica.stdout! }), 'line')) as [string];
      const url = (JSON.parse(line) as { url: string }).url;

      let sent = 0;
      const failures: string[] = [];
      const complete = async (): Promise<number> => {
        sent++;
        const res = await postJson(`${url}/v1/completions`, {
          model: 'tiny',
          prompt: 'still there?',
          max_tokens: 2,
        });
        await res.arrayBuffer();
        return res.status;
      };
      const t0 = Date.now();
      await until(
        async () => ((await complete()) === 200 ? true : undefined),
        'the replica to serve',
        60_000,
      );
      const instancesBefore = records();
      assert.equal(instancesBefore.size, 1);

      let stop = false;
      let served = 0;
      const stream = async () => {
        while (!stop) {
          const status = await complete().catch((e: Error) => `${e.message}`);
          if (status === 200) served++;
          else failures.push(`${String(status)} at ${Date.now() - t0} ms`);
        }
      };
      const streams = [stream(), stream()];
      await sleep(1000);
      const servedBefore = served;
      await redis.kill();
      const outageAt = Date.now();
      await sleep(OUTAGE_MS);
      const servedDuring = served - servedBefore;
      await redis.restart();
      const backAt = Date.now();
      await sleep(3000);
      stop = true;
      await Promise.all(streams);

      assert.deepEqual(failures, [], 'no request failed');
      assert.ok(servedDuring > 0, 'requests were served during the outage');
      assert.deepEqual(records(), instancesBefore, 'the same instance, none started beside it');
      for (const pid of instancesBefore.values()) assert.ok(alive(pid));

      // Every request is in Redis once the replica's history buffer is flushed (each flush every 250 ms).
      const reader = new RedisHistoryStore({ url: redis.url, flushIntervalMs: 0 });
      try {
        const counted = await until(
          async () => {
            const buckets = await reader.series('tiny', t0 - 2000, Date.now() + 1000, 1000);
            const n = buckets.reduce((a, b) => a + b.arrivals, 0);
            return n === sent ? n : undefined;
          },
          `the history in Redis to count the ${sent} requests sent`,
          15_000,
        );
        assert.equal(counted, sent);
      } finally {
        await reader.close();
      }
      console.log(
        `# outage ${backAt - outageAt} ms: ${sent} requests sent, ${servedDuring} served while Redis was away, 0 failed`,
      );

      replica.kill('SIGTERM');
      const [code] = await once(replica, 'exit');
      assert.equal(code, 0);
    });
  },
);

describe(
  'history buffered through an outage: the bound (RedisHistoryStore, real redis-server)',
  { timeout: 60_000 },
  () => {
    let redis: RedisServer;
    let client: Redis;
    before(async () => {
      redis = await startRedisServer({ persist: true });
      client = new Redis(redis.url, { lazyConnect: true });
    });
    after(async () => {
      client?.disconnect();
      await redis?.stop();
    });

    // One resolution (1 s buckets kept an hour): each arrival touches its second's hash and the hour's
    // arrivals page. 20 arrivals in 20 seconds need 21 keys.
    const HOUR = 3_600_000;
    const res = [{ bucketMs: 1000, retentionMs: HOUR }];
    // 20 recent seconds inside one hour: Redis expires keys at absolute times (bucket start + an hour),
    // so the seconds must be near its clock, and the arrivals must share one hour's page. Seconds from
    // the start of the hour raced the hour's end (~1-2% of runs): a test begun in its last seconds wrote
    // keys already expired.
    const hourOf = (t: number) => Math.floor(t / HOUR) * HOUR;
    const now = Date.now();
    const recent = Math.floor(now / 1000) * 1000 - 20_000;
    const first = hourOf(recent) === hourOf(recent + 19_000) ? recent : hourOf(now);
    const hourStart = hourOf(first);
    const second = (i: number) => first + i * 1000;
    /** The second's slot in the hour's arrivals page. */
    const slot = (i: number) => (second(i) - hourStart) / 1000;

    async function outage(prefix: string, maxUnsentKeys: number) {
      const store = new RedisHistoryStore({
        url: redis.url,
        resolutions: res,
        keyPrefix: prefix,
        flushIntervalMs: 0,
        maxUnsentKeys,
        readyTimeoutMs: 300,
      });
      await store.flush(); // connected
      await redis.kill();
      for (let i = 0; i < 20; i++)
        recordRequest(store, {
          model: 'm',
          at: second(i),
          promptTokens: 3,
          outputTokens: 5,
          ttftMs: 10,
          outcome: 'ok',
        });
      await assert.rejects(store.flush());
      await assert.rejects(store.flush());
      await redis.restart();
      await until(
        async () => (await store.flush().then(() => true)) || undefined,
        'a flush to reach Redis again',
        10_000,
      );
      await client.connect().catch(() => undefined);
      const hashes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.hget(bucketKey(prefix, 'm', 1000, second(i)), 'arrivals'),
        ),
      );
      const page = pageKey(prefix, 'm', 1000, hourStart);
      const slots = (await client.call(
        'BITFIELD',
        page,
        ...Array.from({ length: 20 }, (_, i) => ['GET', 'u32', `#${slot(i)}`]).flat(),
      )) as number[];
      const stats = {
        droppedKeys: store.droppedKeys,
        droppedArrivals: store.droppedArrivals,
        unsentKeys: store.unsentKeys,
      };
      await store.close();
      client.disconnect();
      client = new Redis(redis.url, { lazyConnect: true });
      return { hashes: hashes.map((h) => (h === null ? 0 : Number(h))), slots, stats };
    }

    it('within the bound: every count reaches Redis after the outage', async () => {
      const r = await outage('wg:fault-a:', 21);
      assert.deepEqual(r.hashes, Array(20).fill(1));
      assert.deepEqual(r.slots, Array(20).fill(1));
      assert.deepEqual(r.stats, { droppedKeys: 0, droppedArrivals: 0, unsentKeys: 0 });
    });

    it('past the bound: the keys that expire first (the oldest seconds) are dropped, exactly, and counted', async () => {
      // 11 keys may wait: the hour's page (it expires last) and the 10 latest seconds.
      const r = await outage('wg:fault-b:', 11);
      assert.deepEqual(r.hashes, [...Array(10).fill(0), ...Array(10).fill(1)]);
      assert.deepEqual(r.slots, Array(20).fill(1), 'the arrivals page kept every arrival');
      assert.deepEqual(r.stats, { droppedKeys: 10, droppedArrivals: 10, unsentKeys: 0 });
    });
  },
);
