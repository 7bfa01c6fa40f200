import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelGate } from '../../../gateway/admission/index.ts';
import { ApiError } from '../../../gateway/errors/index.ts';

const never = new AbortController().signal;

describe('model gate', () => {
  it('caps concurrency with 429 concurrency_limit and Retry-After; release is idempotent', () => {
    const g = new ModelGate('m', { maxConcurrency: 2, maxQueued: 1, queueTimeoutMs: 1000 });
    const r1 = g.enter();
    g.enter();
    assert.throws(
      () => g.enter(),
      (e: unknown) =>
        e instanceof ApiError && e.code === 'concurrency_limit' && e.status === 429 && e.retryAfter === 1,
    );
    r1();
    r1();
    assert.equal(g.inFlight, 1);
    g.enter();
    assert.equal(g.inFlight, 2);
  });

  it('a waiter goes as soon as capacity comes up', async () => {
    const g = new ModelGate('m', { maxConcurrency: 10, maxQueued: 4, queueTimeoutMs: 10_000 });
    let ready: string | null = null;
    const waiting = g.waitFor(() => ready, never);
    assert.equal(g.queued, 1);
    g.wakeAll(); // woken, still nothing: waits on
    await new Promise((r) => setImmediate(r));
    assert.equal(g.queued, 1);
    ready = 'instance-1';
    g.wakeAll();
    const r = await waiting;
    assert.equal(r.value, 'instance-1');
    assert.equal(g.queued, 0);
  });

  it('503 no_capacity when the queue is full, and when the wait passes its deadline', async () => {
    const g = new ModelGate('m', { maxConcurrency: 10, maxQueued: 1, queueTimeoutMs: 30 });
    const first = g.waitFor(() => null, never);
    await assert.rejects(
      g.waitFor(() => null, never),
      (e: unknown) =>
        e instanceof ApiError && e.code === 'no_capacity' && e.status === 503 && e.retryAfter !== null,
    );
    await assert.rejects(first, (e: unknown) => e instanceof ApiError && e.code === 'no_capacity');
    assert.equal(g.queued, 0);
  });

  it('a waiter whose client left is dropped from the queue', async () => {
    const g = new ModelGate('m', { maxConcurrency: 10, maxQueued: 4, queueTimeoutMs: 10_000 });
    const ac = new AbortController();
    const w = g.waitFor(() => null, ac.signal);
    ac.abort();
    await assert.rejects(w);
    assert.equal(g.queued, 0);
  });
});
