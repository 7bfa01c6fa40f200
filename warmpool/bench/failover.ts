/**
 * npm run bench:failover [-- --json] [--runs 10] [--ttl-ms 3000] [--revocations 20]
 *
 * How long the platform takes to act on two events, against a real redis-server on loopback:
 * - leader failover: the leading controller dies (its timers stop, it releases nothing: what SIGKILL
 *   leaves in Redis), at a random point of its renewal cycle; measured from its death to the follower's
 *   election, with the controller service's settings (lease TTL, renew every TTL/3, retry every TTL/3);
 * - key revocation: a key is revoked on one replica; measured from the revoke to the first refused
 *   verify on a replica that got the pub/sub message and on one that did not (it never subscribed: a
 *   lost message), each having cached the key a random time before.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisKeyStore } from '../../gateway/auth/redis-key-store.ts';
import { describeMachine } from '../../runtime/bench/machine.ts';
import { launchRedis } from '../../gateway/bench/redis-launcher.ts';
import { LeaderElector, RedisLease, type Timers } from '../leader/index.ts';
import { median } from './summary.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '10' },
    // The controller service's default (warmpool/service/controller-service.ts).
    'ttl-ms': { type: 'string', default: '3000' },
    revocations: { type: 'string', default: '20' },
  },
});
const log = (...a: unknown[]): void => (o.json ? console.error(...a) : console.log(...a));
const runs = Number(o.runs);
const ttlMs = Number(o['ttl-ms']);
const retryMs = Math.max(100, Math.floor(ttlMs / 3)); // as controller-service.ts sets it
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number) => Math.round(x * 10) / 10;
const summary = (xs: number[]) => ({
  p50: r1(median(xs)),
  max: r1(Math.max(...xs)),
  min: r1(Math.min(...xs)),
});

/** Real timers until kill(): then nothing fires again, as in a process that is gone. */
function killableTimers(): Timers & { kill(): void } {
  const live = new Set<NodeJS.Timeout>();
  let dead = false;
  return {
    setTimeout(fn, ms) {
      const t = setTimeout(() => {
        live.delete(t);
        if (!dead) fn();
      }, ms);
      live.add(t);
      return t;
    },
    clearTimeout(t) {
      clearTimeout(t as NodeJS.Timeout);
      live.delete(t as NodeJS.Timeout);
    },
    kill() {
      dead = true;
      for (const t of live) clearTimeout(t);
      live.clear();
    },
  };
}

const redis = await launchRedis();
log(`${new Date().toISOString()}  ${describeMachine()}`);
try {
  // Leader failover.
  const failoverMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const key = `bench:failover:${i}`;
    const leaseA = new RedisLease({ url: redis.url, key, ttlMs });
    const leaseB = new RedisLease({ url: redis.url, key, ttlMs });
    const timers = killableTimers();
    let aElected: () => void = () => undefined;
    const aLeads = new Promise<void>((r) => (aElected = r));
    const a = new LeaderElector({
      lease: leaseA,
      holderId: 'a',
      retryMs,
      timers,
      onElected: () => aElected(),
    });
    a.start();
    await aLeads;
    let bElectedAt = 0;
    let bElected: () => void = () => undefined;
    const bLeads = new Promise<void>((r) => (bElected = r));
    const b = new LeaderElector({
      lease: leaseB,
      holderId: 'b',
      retryMs,
      onElected: () => {
        bElectedAt = performance.now();
        bElected();
      },
    });
    b.start();
    // Die somewhere in a renewal cycle, after at least one renewal.
    await sleep(ttlMs / 3 + Math.random() * (ttlMs / 3));
    const diedAt = performance.now();
    timers.kill();
    await bLeads;
    failoverMs.push(bElectedAt - diedAt);
    log(`failover ${i + 1}/${runs}: ${(bElectedAt - diedAt).toFixed(0)} ms (TTL ${ttlMs} ms)`);
    await b.stop();
    await leaseA.close();
    await leaseB.close();
  }

  // Key revocation.
  const cacheMs = 1000; // RedisKeyStore's default
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(redis.url);
    connections.push(c);
    return c;
  };
  const admin = new RedisKeyStore({ client: connect(), subscriber: connect() });
  const subscribed = new RedisKeyStore({ client: connect(), subscriber: connect() });
  const unsubscribed = new RedisKeyStore({ client: connect() }); // never hears a change: a lost message
  await sleep(200); // subscriptions in place
  const untilRevoked = async (store: RedisKeyStore, key: string, from: number) => {
    for (;;) {
      const check = await store.verify(key);
      if (!check.ok && check.code === 'api_key_revoked') return performance.now() - from;
      await new Promise((r) => setImmediate(r));
    }
  };
  const deliveredMs: number[] = [];
  const lostMs: number[] = [];
  for (let i = 0; i < Number(o.revocations); i++) {
    const { record, key } = await admin.create({ name: `bench-${i}` });
    await sleep(50); // the create's message has passed
    for (const s of [subscribed, unsubscribed]) {
      if (!(await s.verify(key)).ok) throw new Error('a new key was refused');
    }
    await sleep(Math.random() * cacheMs); // the key cached some time before the revoke
    const t0 = performance.now();
    await admin.revoke(record.id);
    const [d, l] = await Promise.all([
      untilRevoked(subscribed, key, t0),
      untilRevoked(unsubscribed, key, t0),
    ]);
    deliveredMs.push(d);
    lostMs.push(l);
  }
  log(
    `revocation seen: message delivered p50 ${median(deliveredMs).toFixed(1)} ms, lost p50 ${median(lostMs).toFixed(0)} ms`,
  );
  for (const c of connections) c.disconnect();

  const result = {
    failover_ms: summary(failoverMs),
    lease_ttl_ms: ttlMs,
    retry_ms: retryMs,
    renew_every_ms: Math.floor(ttlMs / 3),
    // Kill just after a renewal, the lease lives a whole TTL; the follower then asks up to retry_ms later.
    failover_bound_ms: ttlMs + retryMs,
    failover_runs: runs,
    revocation_delivered_ms: { ...summary(deliveredMs), p50: Math.round(median(deliveredMs) * 100) / 100 },
    revocation_message_lost_ms: summary(lostMs),
    key_cache_ms: cacheMs,
    revocations: deliveredMs.length,
    machine: describeMachine(),
    date: new Date().toISOString(),
  };
  if (o.json) console.log(JSON.stringify(result));
  else console.log(result);
} finally {
  await redis.stop();
}
