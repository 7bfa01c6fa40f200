import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  failed,
  handleDelta,
  type Outcome,
  soakJson,
  SseScan,
  summarise,
} from '../../warmpool/soak/index.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const chunk = (delta: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}\n\n`;

test('SSE: the role chunk is not content; lines split across chunks; usage and [DONE] read', () => {
  const scan = new SseScan();
  assert.equal(scan.push(enc(chunk({ role: 'assistant', content: '' }))), false);
  const text = chunk({ content: 'O' });
  assert.equal(scan.push(enc(text.slice(0, 12))), false);
  assert.equal(scan.push(enc(text.slice(12))), true, 'first content completes in this chunk');
  assert.equal(scan.push(enc(chunk({ content: 'h' }))), false, 'only the first content counts');
  scan.push(enc(`data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 2 } })}\n\ndata: [DO`));
  assert.equal(scan.done, false);
  scan.push(enc('NE]'));
  scan.end(); // the last line without its newline
  assert.deepEqual([scan.content, scan.done, scan.error, scan.completionTokens], [true, true, null, 2]);
});

test('SSE: an error event is recorded, the stream is not done', () => {
  const scan = new SseScan();
  scan.push(
    enc(`data: ${JSON.stringify({ error: { message: 'instance gone', code: 'upstream_failed' } })}\n\n`),
  );
  scan.end();
  assert.equal(scan.error, 'instance gone');
  assert.equal(scan.done, false);
});

const ok = (ttftMs: number | null, totalMs = 100): Outcome => ({
  status: 200,
  ttftMs,
  totalMs,
  done: true,
  completionTokens: 10,
});

test('failures: not 200, an error event, or no [DONE]; percentiles over the rest', () => {
  const outcomes: Outcome[] = [
    ...Array.from({ length: 100 }, (_, i) => ok(i + 1)),
    ok(null),
    { ...ok(5), status: 503, done: false, error: 'queue full' },
    { ...ok(5), error: 'instance gone' },
    { ...ok(5), done: false },
    { status: 0, ttftMs: null, totalMs: 1, done: false, completionTokens: 0, error: 'ECONNRESET' },
  ];
  assert.deepEqual(outcomes.map(failed).filter(Boolean).length, 4);
  const s = summarise(outcomes, 10_000, 3);
  assert.equal(s.requests, 105);
  assert.equal(s.failures, 4);
  assert.equal(s.noContent, 1);
  assert.equal(s.ttftP50Ms, 50);
  assert.equal(s.ttftP99Ms, 99);
  assert.equal(s.ttftMaxMs, 100);
  assert.equal(s.completionTokens, 1010);
  assert.equal(s.rps, 10.1);
  assert.deepEqual(s.failureSamples, [
    'status 503, no [DONE]: queue full',
    'status 200: instance gone',
    'status 200, no [DONE]',
    'status 0, no [DONE]: ECONNRESET',
  ]);
});

test("the JSON line has exactly the issue's keys; KV unknown when an instance did not answer", () => {
  const load = summarise([ok(12.34), ok(20)], 1000, 0);
  const start = { rssMb: 150.2, heapUsedMb: 20, handles: 19, byKind: { TCPSocketWrap: 4, Timeout: 5 } };
  const end = {
    rssMb: 151.0,
    heapUsedMb: 21,
    handles: 20,
    byKind: { TCPSocketWrap: 5, Timeout: 5, PipeWrap: 0 },
  };
  const j = soakJson(load, start, end, [0, 2]);
  assert.deepEqual(Object.keys(j), [
    'requests',
    'failures',
    'ttft_ms_p50',
    'ttft_ms_p99',
    'rss_mb_start',
    'rss_mb_end',
    'handles_start',
    'handles_end',
    'kv_blocks_in_use_end',
  ]);
  assert.deepEqual(j, {
    requests: 2,
    failures: 0,
    ttft_ms_p50: 12.3,
    ttft_ms_p99: 20,
    rss_mb_start: 150.2,
    rss_mb_end: 151,
    handles_start: 19,
    handles_end: 20,
    kv_blocks_in_use_end: 2,
  });
  assert.equal(soakJson(load, start, end, [0, null]).kv_blocks_in_use_end, null);
  assert.equal(soakJson(load, start, end, []).kv_blocks_in_use_end, null);
  assert.equal(soakJson(summarise([], 1, 0), start, end, [0]).ttft_ms_p50, null);
  assert.deepEqual(handleDelta(start, end), { TCPSocketWrap: '4 → 5' });
});
