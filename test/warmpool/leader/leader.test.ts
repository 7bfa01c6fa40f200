// Leader election against a real redis-server: lease scripts, two electors, a stalled leader,
// a Redis restart and a prompt handover on release.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import {
  LeaderElector,
  RedisLease,
  realTimers,
  type LostReason,
  type Timers,
} from '../../../warmpool/leader/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Real timers that can be held back, as if the process were paused (GC, SIGSTOP, a busy loop). */
class PausableTimers implements Timers {
  #paused = false;
  #held: (() => void)[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    return realTimers.setTimeout(() => (this.#paused ? this.#held.push(fn) : fn()), ms);
  }
  clearTimeout(handle: unknown): void {
    realTimers.clearTimeout(handle);
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    this.#paused = false;
    for (const fn of this.#held.splice(0)) fn();
  }
}

interface Node {
  readonly id: string;
  readonly lease: RedisLease;
  readonly elector: LeaderElector;
  readonly timers: PausableTimers;
  readonly elected: number[];
  readonly lost: LostReason[];
}

function node(redis: RedisServer, id: string, ttlMs: number, retryMs = 50): Node {
  const lease = new RedisLease({ url: redis.url, ttlMs, key: 'test:leader' });
  const timers = new PausableTimers();
  const elected: number[] = [];
  const lost: LostReason[] = [];
  const elector = new LeaderElector({
    lease,
    holderId: id,
    retryMs,
    timers,
    onElected: (t) => elected.push(t),
    onLost: (r) => lost.push(r),
  });
  return { id, lease, elector, timers, elected, lost };
}

async function withRedis(fn: (redis: RedisServer, nodes: Node[]) => Promise<void>): Promise<void> {
  const redis = await startRedisServer();
  const nodes: Node[] = [];
  try {
    await fn(redis, nodes);
  } finally {
    for (const n of nodes) {
      n.timers.resume();
      await n.elector.stop();
      await n.lease.close();
    }
    await redis.stop();
  }
}

const leaders = (nodes: Node[]): Node[] => nodes.filter((n) => n.elector.leading() !== null);

test('RedisLease: one holder, checked renew/release, increasing tokens, fenced writes', async () => {
  await withRedis(async (redis) => {
    // A client the test owns (the lease leaves it open), with ioredis's offline queue so the first
    // call waits for the connection.
    const client = new Redis(redis.url);
    const lease = new RedisLease({ client, ttlMs: 10_000, key: 'test:lease' });
    try {
      assert.equal(await lease.fencedSet('state', 'x', 1), false, 'no token issued yet: every write refused');
      const a = await lease.tryAcquire('a');
      assert.ok(a !== null);
      assert.equal(await lease.tryAcquire('b'), null);
      assert.equal(await lease.tryAcquire('a'), null, 'holding it already is no second term');
      const cur = await lease.current();
      assert.equal(cur?.holder, 'a');
      assert.equal(cur?.token, a.token);
      assert.equal(await lease.renew('a', a.token + 1), false);
      assert.equal(await lease.renew('b', a.token), false);
      assert.equal(await lease.renew('a', a.token), true);
      assert.equal(await lease.release('b', a.token), false);
      assert.equal(await lease.fencedSet('state', 'from-a', a.token), true);
      assert.equal(await lease.release('a', a.token), true);
      assert.equal(await lease.current(), null);
      const b = await lease.tryAcquire('b');
      assert.ok(b !== null);
      assert.ok(b.token > a.token, `token ${b.token} must exceed ${a.token}`);
      assert.equal(await lease.fencedSet('state', 'stale', a.token), false);
      assert.equal(await lease.fencedSet('state', 'from-b', b.token), true);
      assert.equal(await lease.release('a', a.token), false, 'an old term cannot release the new one');
    } finally {
      await lease.close();
      client.disconnect();
    }
  });
});

test('two electors on one Redis: exactly one leads, and keeps leading through renewals', async () => {
  await withRedis(async (redis, nodes) => {
    // A TTL of seconds, renewed every third of it: a busy machine's stalls (hundreds of ms) must not
    // cost the lease, which the 400 ms TTL renewed every 133 ms did.
    const ttl = 3000;
    nodes.push(node(redis, 'a', ttl), node(redis, 'b', ttl));
    for (const n of nodes) n.elector.start();
    await until('a leader', () => leaders(nodes).length > 0);
    await sleep(2.5 * ttl); // past two TTLs: the leader must have renewed several times meanwhile
    assert.equal(leaders(nodes).length, 1);
    assert.deepEqual(
      nodes.map((n) => n.elected.length).sort(),
      [0, 1],
      'one term in all, never lost and re-won',
    );
    assert.deepEqual(
      nodes.flatMap((n) => n.lost),
      [],
    );
  });
});

test('a stalled leader loses to the other after the TTL; its token is fenced off', async () => {
  await withRedis(async (redis, nodes) => {
    const ttl = 3000;
    nodes.push(node(redis, 'a', ttl));
    const [a] = nodes as [Node];
    a.elector.start();
    await until('a elected', () => a.elected.length === 1);
    const b = node(redis, 'b', ttl);
    nodes.push(b);
    b.elector.start();
    const oldToken = a.elected[0]!;
    assert.equal(await a.lease.fencedSet('state', 'from-a', oldToken), true);

    a.timers.pause(); // no more renewals, and no expiry timer either: only the clock can tell
    await until('b elected', () => b.elected.length === 1);
    const newToken = b.elected[0]!;
    assert.ok(newToken > oldToken, `token ${newToken} must exceed ${oldToken}`);
    assert.equal(a.elector.leading(), null, 'a must not believe it leads past its local lease expiry');
    assert.deepEqual(a.lost, [], 'a heard nothing yet: leading() decided by the clock alone');
    assert.equal(await a.lease.fencedSet('state', 'stale', oldToken), false);
    assert.equal(await b.lease.fencedSet('state', 'from-b', newToken), true);

    a.timers.resume(); // the held renew/expiry now run and end a's term
    await until('a stepped down', () => a.lost.length === 1);
    assert.ok(['expired', 'renew-refused'].includes(a.lost[0]!), a.lost[0]);
    await sleep(200);
    assert.deepEqual(leaders(nodes), [b]);
  });
});

test('Redis restart mid-lease: the leader steps down, then leadership comes back with a higher token', async () => {
  await withRedis(async (redis, nodes) => {
    const ttl = 3000;
    nodes.push(node(redis, 'a', ttl), node(redis, 'b', ttl));
    for (const n of nodes) n.elector.start();
    await until('a leader', () => leaders(nodes).length === 1);
    const [first] = leaders(nodes) as [Node];
    const oldToken = first.elected[0]!;

    await redis.stop().then(() => undefined);
    // Bound: the step-down is due one TTL after the last renew; the rest is slack for a slow machine.
    await until('the leader stepped down', () => first.lost.length === 1, ttl + 3000);
    assert.deepEqual(first.lost, ['expired']);
    assert.equal(leaders(nodes).length, 0);

    await redis.restart();
    // Bound: ioredis reconnect backoff (up to 2 s) plus retryMs.
    await until('a new leader', () => leaders(nodes).length === 1, 15_000);
    const [second] = leaders(nodes) as [Node];
    const newToken = second.elected.at(-1)!;
    assert.ok(newToken > oldToken, `token ${newToken} after a data-losing restart must exceed ${oldToken}`);
    assert.equal(await second.lease.fencedSet('state', 'stale', oldToken), false);
    assert.equal(await second.lease.fencedSet('state', 'fresh', newToken), true);
  });
});

test('stop() releases the lease, so the follower takes over without waiting out the TTL', async () => {
  await withRedis(async (redis, nodes) => {
    const ttl = 5000;
    nodes.push(node(redis, 'a', ttl));
    const [a] = nodes as [Node];
    a.elector.start();
    await until('a elected', () => a.elected.length === 1);
    const b = node(redis, 'b', ttl);
    nodes.push(b);
    b.elector.start();
    await sleep(150); // b has tried (and failed) to acquire a few times
    assert.deepEqual(b.elected, []);

    await a.elector.stop();
    assert.deepEqual(a.lost, ['stopped']);
    assert.equal(a.elector.leading(), null);
    // Bound: half the TTL, so only the release (not expiry) can explain a takeover in time.
    await until('b elected', () => b.elected.length === 1, ttl / 2);
    assert.ok(b.elected[0]! > a.elected[0]!);
  });
});
