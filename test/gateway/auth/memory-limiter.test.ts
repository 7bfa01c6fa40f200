import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLimiter } from '../../../gateway/auth/index.ts';
import { clockReading } from '../../support/clock-reading.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

describe('memory limiter (time stepped by hand)', () => {
  it('token bucket: a burst, then the sustained rate, with the wait until the next request', async () => {
    let now = 10 * DAY;
    const limiter = new MemoryLimiter({ clock: clockReading(() => now) });
    const limits = { requestsPerSecond: 2, burst: 3 };
    for (let i = 0; i < 3; i++) assert.ok((await limiter.admit('k', limits)).ok, `burst ${i}`);
    const refused = await limiter.admit('k', limits);
    assert.deepEqual(refused, {
      ok: false,
      code: 'rate_limit_exceeded',
      limit: 'requests per second',
      retryAfterMs: 500,
    });
    now += 499;
    assert.equal((await limiter.admit('k', limits)).ok, false, 'not yet');
    now += 1;
    assert.ok((await limiter.admit('k', limits)).ok, 'one token after 500 ms');
    assert.equal((await limiter.admit('k', limits)).ok, false);
    assert.ok((await limiter.admit('other', limits)).ok, 'another key has its own bucket');
    now += 60_000;
    for (let i = 0; i < 3; i++)
      assert.ok((await limiter.admit('k', limits)).ok, 'the bucket refills to its burst only');
    assert.equal((await limiter.admit('k', limits)).ok, false);
  });

  it('token quotas: counted when requests finish, refused until the window resets', async () => {
    let now = 10 * DAY + 5 * MINUTE + 15_000;
    const limiter = new MemoryLimiter({ clock: clockReading(() => now) });
    const limits = { tokensPerMinute: 100, tokensPerDay: 250 };
    assert.ok((await limiter.admit('k', limits)).ok);
    limiter.finish('k', null, 60);
    assert.ok((await limiter.admit('k', limits)).ok, '60 of 100');
    limiter.finish('k', null, 50);
    assert.deepEqual(await limiter.admit('k', limits), {
      ok: false,
      code: 'token_quota_exceeded',
      limit: 'tokens per minute',
      retryAfterMs: 45_000,
    });
    now += 45_000; // the next minute
    assert.ok((await limiter.admit('k', limits)).ok);
    limiter.finish('k', null, 100);
    now += MINUTE;
    limiter.finish('k', null, 40); // 250 today
    const day = await limiter.admit('k', limits);
    assert.equal(day.ok, false);
    assert.equal(day.ok === false && day.limit, 'tokens per day');
    assert.equal(day.ok === false && day.retryAfterMs, 11 * DAY - now);
    now = 11 * DAY;
    assert.ok((await limiter.admit('k', limits)).ok, 'a new UTC day');
  });

  it('concurrency: the N+1th is refused until one finishes', async () => {
    const limiter = new MemoryLimiter({ clock: clockReading(() => 0) });
    const limits = { maxConcurrentRequests: 2 };
    const a = await limiter.admit('k', limits);
    const b = await limiter.admit('k', limits);
    assert.ok(a.ok && b.ok);
    const c = await limiter.admit('k', limits);
    assert.equal(c.ok === false && c.code, 'too_many_concurrent_requests');
    limiter.finish('k', a.lease, 0);
    const d = await limiter.admit('k', limits);
    assert.ok(d.ok);
    assert.equal((await limiter.admit('k', limits)).ok, false);
  });

  it('a refused request takes nothing: a refusal by one limit leaves the others as they were', async () => {
    let now = 0;
    const limiter = new MemoryLimiter({ clock: clockReading(() => now) });
    const limits = { requestsPerSecond: 1, burst: 1, maxConcurrentRequests: 1 };
    const a = await limiter.admit('k', limits);
    assert.ok(a.ok);
    now += 5_000;
    const b = await limiter.admit('k', limits);
    assert.equal(b.ok === false && b.code, 'too_many_concurrent_requests');
    limiter.finish('k', a.ok ? a.lease : null, 0);
    assert.ok((await limiter.admit('k', limits)).ok, 'the bucket token was not spent by the refusal');
  });

  it('usage: the current minute and day windows and the leases held, as the quotas count them', async () => {
    let now = 10 * DAY + 30_000;
    const limiter = new MemoryLimiter({ clock: clockReading(() => now) });
    const limits = { maxConcurrentRequests: 2, tokensPerMinute: 1000 };
    assert.deepEqual(await limiter.usage('k'), { tokensThisMinute: 0, tokensToday: 0, leases: 0 });
    const a = await limiter.admit('k', limits);
    assert.deepEqual(await limiter.usage('k'), { tokensThisMinute: 0, tokensToday: 0, leases: 1 });
    limiter.finish('k', a.ok ? a.lease : null, 120);
    assert.deepEqual(await limiter.usage('k'), { tokensThisMinute: 120, tokensToday: 120, leases: 0 });
    now += MINUTE;
    limiter.finish('k', null, 5);
    assert.deepEqual(await limiter.usage('k'), { tokensThisMinute: 5, tokensToday: 125, leases: 0 });
    now += DAY;
    assert.deepEqual(await limiter.usage('k'), { tokensThisMinute: 0, tokensToday: 0, leases: 0 });
  });
});
