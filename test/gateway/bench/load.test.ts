import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runLoad } from '../../../gateway/bench/load.ts';
import { startTrivialUpstream, type TrivialUpstream } from '../../../gateway/bench/trivial-upstream.ts';

const body = JSON.stringify({ prompt: 'hello', params: { maxTokens: 1 } });

// The upstream is a forked process (tsx compiles it at start): seconds on an idle machine, and a
// fresh-clone CI run beside two busy loops and a simulation took it past a 10 s limit. Nothing here
// measures time, so the limit only catches a hang.
describe('closed-loop load generator against the trivial upstream', { timeout: 120_000 }, () => {
  let up: TrivialUpstream;
  before(async () => {
    up = await startTrivialUpstream();
  });
  after(() => up.stop());

  it('counts completed requests in the window and their latencies', async () => {
    const r = await runLoad({
      url: up.url,
      path: '/generate',
      body,
      concurrency: 4,
      durationMs: 300,
      warmupMs: 100,
      expect: '"type":"finish"',
    });
    assert.equal(r.errors, 0);
    assert.ok(r.requests > 0, 'some requests completed');
    assert.equal(r.latenciesMs.length, r.requests);
    assert.equal(r.rps, (1000 * r.requests) / 300);
    assert.ok(r.p50Ms > 0 && r.p50Ms <= r.p99Ms);
    assert.ok(
      [...r.latenciesMs].every((x, i, a) => i === 0 || a[i - 1]! <= x),
      'sorted',
    );
  });

  it('counts wrong statuses and bodies without the expected text as errors, not as served', async () => {
    const notFound = await runLoad({
      url: up.url,
      path: '/nope',
      body,
      concurrency: 2,
      durationMs: 200,
      warmupMs: 0,
    });
    // A failed request is an error, not a served one: none served, no throughput.
    assert.ok(notFound.errors > 0);
    assert.equal(notFound.requests, 0);
    assert.equal(notFound.rps, 0);
    const wrongBody = await runLoad({
      url: up.url,
      path: '/generate',
      body,
      concurrency: 2,
      durationMs: 200,
      warmupMs: 0,
      expect: 'not in the body',
    });
    assert.ok(wrongBody.errors > 0);
    assert.equal(wrongBody.requests, 0);
    assert.ok(Number.isNaN(wrongBody.p50Ms), 'no successful sample');
  });
});
