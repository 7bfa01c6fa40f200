// The Redis limiter against a real redis-server: limits shared by every limiter on the same Redis.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisLimiter } from '../../../gateway/auth/index.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis limiter', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  const client = () => {
    const c = new Redis(redis.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 1000,
    });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const ready = async (c: Redis) => {
    if (c.status !== 'ready') await new Promise((r) => c.once('ready', r));
  };
  let n = 0;
  const keyId = () => `k${++n}`;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis.stop();
  });

  it('two limiters share one bucket: what one takes the other cannot', async () => {
    const [ca, cb] = [client(), client()];
    await Promise.all([ready(ca), ready(cb)]);
    const a = new RedisLimiter({ client: ca });
    const b = new RedisLimiter({ client: cb });
    const id = keyId();
    const limits = { requestsPerSecond: 0.5, burst: 3 };
    for (let i = 0; i < 3; i++) assert.ok((await (i % 2 ? b : a).admit(id, limits)).ok, `burst ${i}`);
    const refused = await b.admit(id, limits);
    assert.equal(refused.ok, false);
    assert.equal(refused.ok === false && refused.code, 'rate_limit_exceeded');
    assert.ok(refused.ok === false && refused.retryAfterMs > 0 && refused.retryAfterMs <= 2000);
    assert.equal((await a.admit(id, limits)).ok, false);
    await Promise.all([a.close(), b.close()]);
  });

  it('usage: any limiter reads what every one counted, and the leases held', async () => {
    const [ca, cb] = [client(), client()];
    await Promise.all([ready(ca), ready(cb)]);
    const a = new RedisLimiter({ client: ca });
    const b = new RedisLimiter({ client: cb });
    const id = keyId();
    const limits = { maxConcurrentRequests: 3 };
    const first = await a.admit(id, limits);
    const second = await b.admit(id, limits);
    assert.equal((await b.usage(id)).leases, 2, 'two leases held, one per limiter');
    a.finish(id, first.ok ? first.lease : null, 100);
    b.finish(id, second.ok ? second.lease : null, 50);
    // finish() does not wait for Redis: poll until both have landed.
    let used = await a.usage(id);
    for (let i = 0; i < 100 && (used.tokensToday < 150 || used.leases > 0); i++) {
      await sleep(20);
      used = await a.usage(id);
    }
    assert.equal(used.tokensToday, 150, 'both finishes counted in the day window');
    assert.equal(used.leases, 0, 'the leases given back');
    // A minute boundary between the two finishes would split them; never more than the day's.
    assert.ok(used.tokensThisMinute > 0 && used.tokensThisMinute <= 150);
    assert.deepEqual(await b.usage(keyId()), { tokensThisMinute: 0, tokensToday: 0, leases: 0 });
    await Promise.all([a.close(), b.close()]);
  });

  it('token quotas are counted from finish() on any limiter and refused on every one', async () => {
    const [ca, cb] = [client(), client()];
    await Promise.all([ready(ca), ready(cb)]);
    const a = new RedisLimiter({ client: ca });
    const b = new RedisLimiter({ client: cb });
    const id = keyId();
    const limits = { tokensPerMinute: 1_000_000, tokensPerDay: 100 };
    assert.ok((await a.admit(id, limits)).ok);
    a.finish(id, null, 99);
    await ca.ping(); // the finish script ran before the ping's answer
    assert.ok((await b.admit(id, limits)).ok, '99 of 100');
    b.finish(id, null, 1);
    await cb.ping();
    const refused = await a.admit(id, limits);
    assert.equal(refused.ok === false && refused.code, 'token_quota_exceeded');
    assert.equal(refused.ok === false && refused.limit, 'tokens per day');
    assert.ok(refused.ok === false && refused.retryAfterMs > 0 && refused.retryAfterMs <= 86_400_000);

    const perMinute = { tokensPerMinute: 10 };
    const other = keyId();
    b.finish(other, null, 10);
    await cb.ping();
    const minute = await a.admit(other, perMinute);
    assert.equal(minute.ok === false && minute.limit, 'tokens per minute');
    assert.ok(minute.ok === false && minute.retryAfterMs > 0 && minute.retryAfterMs <= 60_000);
    await Promise.all([a.close(), b.close()]);
  });

  it('concurrency leases: released by finish(), and a crashed holder’s lapse after their ttl', async () => {
    const [ca, cb] = [client(), client()];
    await Promise.all([ready(ca), ready(cb)]);
    // A TTL of seconds, renewed every third of it: a busy machine's stalls must not lapse a held lease
    // (a 600 ms TTL renewed every 200 ms did).
    const ttl = 3000;
    const a = new RedisLimiter({ client: ca, leaseTtlMs: ttl });
    const b = new RedisLimiter({ client: cb, leaseTtlMs: ttl });
    const id = keyId();
    const limits = { maxConcurrentRequests: 2 };
    const one = await a.admit(id, limits);
    const two = await b.admit(id, limits);
    assert.ok(one.ok && two.ok);
    await sleep(2 * ttl); // past the ttl: held leases are renewed, so they still count
    const three = await a.admit(id, limits);
    assert.equal(three.ok === false && three.code, 'too_many_concurrent_requests');
    b.finish(id, two.ok ? two.lease : null, 0);
    await cb.ping();
    const four = await a.admit(id, limits);
    assert.ok(four.ok, 'a slot after a finish');
    // a stops renewing without giving its two leases back: a gateway that crashed.
    await a.close();
    assert.equal((await b.admit(id, limits)).ok, false);
    const end = Date.now() + ttl + 20_000;
    for (;;) {
      const r = await b.admit(id, limits);
      if (r.ok) break;
      assert.ok(Date.now() < end, 'the crashed holder’s leases lapse');
      await sleep(100);
    }
    await b.close();
  });

  it('fails open while Redis is down, and says so', async () => {
    const c = client();
    await ready(c);
    const failures: Error[] = [];
    const limiter = new RedisLimiter({ client: c, onFailOpen: (e) => failures.push(e) });
    const id = keyId();
    const limits = { requestsPerSecond: 1, burst: 1 };
    assert.ok((await limiter.admit(id, limits)).ok);
    assert.equal((await limiter.admit(id, limits)).ok, false);
    await redis.stop();
    try {
      assert.deepEqual(await limiter.admit(id, limits), { ok: true, lease: null });
      assert.ok(failures.length >= 1);
      limiter.finish(id, null, 5); // does not throw
    } finally {
      await redis.restart();
      await limiter.close();
    }
  });
});
