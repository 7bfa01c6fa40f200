import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DATA, readText } from '../../runtime/bench/data-files.ts';
import { parseConvTrace, parseTimestamp, TraceFormatError } from '../../warmpool/soak/index.ts';

test('timestamps: UTC, the 7-digit fraction kept below the millisecond', () => {
  assert.equal(parseTimestamp('2023-11-16 18:15:46.6805900'), Date.UTC(2023, 10, 16, 18, 15, 46) + 680.59);
  assert.equal(parseTimestamp('2023-11-16 18:15:46'), Date.UTC(2023, 10, 16, 18, 15, 46));
  assert.equal(parseTimestamp('2023-11-16T00:00:00.5'), Date.UTC(2023, 10, 16) + 500);
  assert.throws(() => parseTimestamp('16/11/2023 18:15'), TraceFormatError);
});

test('rows: times relative to the first arrival, sorted, columns found by name', () => {
  const rows = parseConvTrace(
    [
      'GeneratedTokens,TIMESTAMP,ContextTokens',
      '44,2023-11-16 18:15:47.0000000,374',
      '109,2023-11-16 18:15:46.5000000,396',
      '',
      '16,2023-11-16 18:16:46.5000000,91',
      '',
    ].join('\n'),
  );
  assert.deepEqual(rows, [
    { atMs: 0, contextTokens: 396, generatedTokens: 109 },
    { atMs: 500, contextTokens: 374, generatedTokens: 44 },
    { atMs: 60_000, contextTokens: 91, generatedTokens: 16 },
  ]);
});

test('a malformed row or header throws, naming the line and column', () => {
  const header = 'TIMESTAMP,ContextTokens,GeneratedTokens';
  assert.throws(
    () => parseConvTrace(`${header}\n2023-11-16 18:15:46.1,10,5\n2023-11-16 18:15:47.1,ten,5\n`),
    (e: Error) => e instanceof TraceFormatError && /line 3: ContextTokens/.test(e.message),
  );
  assert.throws(
    () => parseConvTrace(`${header}\nyesterday,10,5\n`),
    (e: Error) => e instanceof TraceFormatError && /line 2: not a timestamp/.test(e.message),
  );
  assert.throws(() => parseConvTrace('TIMESTAMP,Tokens\n'), /no ContextTokens column/);
});

test('the Azure conversation trace shipped in data/ reads whole', async () => {
  const rows = parseConvTrace(await readText(DATA.azureLlmConv));
  assert.equal(rows.length, 19_366); // as its README says
  assert.equal(rows[0]!.atMs, 0);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.atMs >= rows[i - 1]!.atMs);
  const minutes = rows[rows.length - 1]!.atMs / 60_000;
  assert.ok(minutes > 57 && minutes < 60, `span ${minutes} min`);
});
