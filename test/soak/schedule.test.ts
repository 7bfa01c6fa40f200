import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSchedule, type ScheduleOptions, type TraceRow } from '../../warmpool/soak/index.ts';

const OPTIONS: ScheduleOptions = {
  minutes: 1,
  maxRps: 1000,
  tokenScale: 0.5,
  maxTotalTokens: 960,
  maxOutputTokens: 256,
  minPromptTokens: 32,
};

/** n rows one second apart, 200 context and 100 generated tokens each. */
const uniform = (n: number): TraceRow[] =>
  Array.from({ length: n }, (_, i) => ({ atMs: i * 1000, contextTokens: 200, generatedTokens: 100 }));

test('the trace span is compressed to the given minutes', () => {
  const { requests, mapping } = planSchedule(uniform(601), { ...OPTIONS, minutes: 1 }); // 600 s → 60 s
  assert.equal(requests.length, 601);
  assert.equal(requests[0]!.atMs, 0);
  assert.equal(requests[1]!.atMs, 100);
  assert.equal(requests[600]!.atMs, 60_000);
  assert.equal(mapping.timeFactor, 0.1);
  assert.equal(mapping.keptFraction, 1);
  assert.equal(mapping.offeredPeakRps, 10);
});

test('above maxRps the trace is thinned evenly, keeping its shape', () => {
  // 1,200 rows over 60 s (20/s) offered at 5 req/s: every 4th row, so the same spacing everywhere.
  const rows = uniform(1200).map((r) => ({ ...r, atMs: r.atMs / 20 }));
  const { requests, mapping } = planSchedule(rows, { ...OPTIONS, minutes: 59.95 / 60, maxRps: 5 });
  assert.equal(mapping.compressedMeanRps, 20.02);
  assert.ok(Math.abs(mapping.keptFraction - 5 / 20.02) < 1e-4);
  assert.equal(requests.length, Math.floor(1200 * (5 / 20.016680567139282)));
  const gaps = requests.slice(1).map((r, i) => r.atMs - requests[i]!.atMs);
  assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 50 + 1e-9, 'gaps differ by at most one trace step');
  assert.ok(requests.every((r, i) => i === 0 || r.atMs > requests[i - 1]!.atMs));

  // A burst stays a burst: rows denser in the second half keep more requests there.
  const bursty: TraceRow[] = [
    ...Array.from({ length: 100 }, (_, i) => ({ atMs: i * 1000, contextTokens: 10, generatedTokens: 1 })),
    ...Array.from({ length: 400 }, (_, i) => ({
      atMs: 100_000 + i * 250,
      contextTokens: 10,
      generatedTokens: 1,
    })),
  ];
  const thin = planSchedule(bursty, { ...OPTIONS, minutes: 200_000 / 60_000, maxRps: 1 }).requests;
  const firstHalf = thin.filter((r) => r.atMs < 100_000).length;
  assert.equal(thin.length, 200);
  assert.equal(firstHalf, 40);
});

test('token counts: scaled, output capped, prompt cut to fit or raised to the minimum', () => {
  const rows: TraceRow[] = [
    { atMs: 0, contextTokens: 1000, generatedTokens: 200 }, // 500 + 100
    { atMs: 1, contextTokens: 4000, generatedTokens: 300 }, // 2000 + 150 → prompt cut to 810
    { atMs: 2, contextTokens: 100, generatedTokens: 2000 }, // output 1000 → 256; prompt 50
    { atMs: 3, contextTokens: 20, generatedTokens: 0 }, // prompt 10 → 32; output at least 1
  ];
  const { requests, mapping } = planSchedule(rows, OPTIONS);
  assert.deepEqual(
    requests.map((r) => [r.promptTokens, r.maxTokens]),
    [
      [500, 100],
      [810, 150],
      [50, 256],
      [32, 1],
    ],
  );
  assert.ok(requests.every((r) => r.promptTokens + r.maxTokens <= OPTIONS.maxTotalTokens));
  assert.equal(mapping.outputCapped, 1);
  assert.equal(mapping.promptCut, 1);
  assert.equal(mapping.promptRaised, 1);
  assert.equal(mapping.tracePromptMean, 1280);
  assert.equal(mapping.promptMean, 348);
  assert.equal(mapping.promptMax, 810);
});

test('the same rows and options give the same schedule; bad options throw', () => {
  const rows = uniform(50).map((r, i) => ({ ...r, contextTokens: 37 * i, generatedTokens: 11 * i }));
  assert.deepEqual(planSchedule(rows, OPTIONS), planSchedule(rows, OPTIONS));
  assert.throws(() => planSchedule(rows, { ...OPTIONS, minutes: 0 }), RangeError);
  assert.throws(() => planSchedule(rows, { ...OPTIONS, maxRps: -1 }), RangeError);
  assert.throws(() => planSchedule(rows, { ...OPTIONS, maxTotalTokens: 32 }), RangeError);
  assert.deepEqual(planSchedule([], OPTIONS).requests, []);
});
