import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DATA } from '../../../runtime/bench/data-files.ts';
import { readTrace, TraceError } from '../../../warmpool/sim/index.ts';
import { azureLlmCsv, mooncakeJsonl, tempDir } from './helpers.ts';

const dir = tempDir();
after(() => dir.remove());

// Service times in these tests: 1 ms per input token, 10 ms per output token, 5 ms per request.
const tokenModel = { prefillMsPerToken: 1, decodeMsPerToken: 10, overheadMs: 5 };

describe('Azure LLM inference 2023 reader', () => {
  it('reads one deployment named after the file, ms after the first request, sorted, service times from tokens', async () => {
    const f = dir.file(
      'azure_llm_2023_conv.csv',
      azureLlmCsv([
        ['2023-11-16 18:15:47.0000000', 100, 2],
        ['2023-11-16 18:15:46.6805900', 374, 44],
        ['2023-11-16 18:16:50.9951690', 396, 109],
      ]),
    );
    const t = await readTrace({ file: f, serviceMs: 1, tokenModel });
    assert.equal(t.format, 'azure-llm-2023');
    assert.deepEqual([t.startMs, t.endMs, t.requests], [0, 120_000, 3]);
    assert.deepEqual(
      t.deployments.map((d) => d.name),
      ['azure-llm-2023-conv'],
    );
    const { at, serviceMs } = t.deployments[0]!.requestsFor(1);
    assert.deepEqual([...at], [0, 319.41, 64_314.579]);
    assert.deepEqual([...serviceMs], [5 + 374 + 440, 5 + 100 + 20, 5 + 396 + 1090]);
    assert.match(t.serviceTimes, /token model: 1 ms × input \+ 10 ms × output tokens \+ 5 ms/);
    assert.deepEqual(t.skipped, { rows: 0, examples: [] });
  });

  it('keeps the 7-digit fraction exactly (100 ns), across midnight', async () => {
    const f = dir.file(
      'fraction.csv',
      azureLlmCsv([
        ['2023-11-16 23:59:59.9999999', 1, 1],
        ['2023-11-17 00:00:00.0000000', 1, 1],
        ['2023-11-17 00:00:00.0000001', 1, 1],
        ['2023-11-17 00:00:01.5', 1, 1],
      ]),
    );
    const { at } = (await readTrace({ file: f, serviceMs: 1 })).deployments[0]!.requestsFor(1);
    assert.deepEqual([...at], [0, 0.0001, 0.0002, 1500.0001]);
  });

  it('reads the timestamps as UTC whatever the local zone', async (t) => {
    // In New York, 01:59:59 and 02:00:01 local on 2023-11-05 are an hour and 2 s apart (DST ends at 02:00).
    const zone = process.env.TZ;
    t.after(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    process.env.TZ = 'America/New_York';
    const f = dir.file(
      'dst.csv',
      azureLlmCsv([
        ['2023-11-05 01:59:59.0000000', 1, 1],
        ['2023-11-05 02:00:01.0000000', 1, 1],
      ]),
    );
    const { at } = (await readTrace({ file: f, serviceMs: 1 })).deployments[0]!.requestsFor(1);
    assert.deepEqual([...at], [0, 2000]);
  });

  it('names the file, line and problem for malformed rows', async () => {
    const cases: [string, RegExp][] = [
      ['2023-11-16 18:15:46.6805900,374\n', /:3: expected 3 fields, found 2/],
      [
        '2023-11-16 25:00:00.0,374,44\n',
        /:3: TIMESTAMP must be a UTC date-time .*got "2023-11-16 25:00:00.0"/,
      ],
      ['2023-02-30 10:00:00.0,374,44\n', /:3: TIMESTAMP must be a UTC date-time/],
      ['2023-11-16 18:15:46.6805900,-1,44\n', /:3: ContextTokens must be an integer ≥ 0, got "-1"/],
      ['2023-11-16 18:15:46.6805900,3,4.5\n', /:3: GeneratedTokens must be an integer ≥ 0, got "4.5"/],
    ];
    let k = 0;
    for (const [row, re] of cases) {
      const text = azureLlmCsv([['2023-11-16 18:15:40.0000000', 1, 1]]) + row;
      await assert.rejects(
        readTrace({ file: dir.file(`bad${k++}.csv`, text), serviceMs: 1 }),
        (e: unknown) => {
          assert.ok(e instanceof TraceError, String(e));
          assert.match(e.message, re);
          return true;
        },
      );
    }
  });
});

describe('Mooncake reader', () => {
  it('reads one deployment named after the file, ms after the first request, sorted, service times from tokens', async () => {
    const f = dir.file(
      'mooncake_conversation_trace.jsonl',
      mooncakeJsonl([
        [3000, 6758, 500],
        [3000, 7322, 490],
        [1000, 100, 1],
        [65_000, 10, 10],
      ]),
    );
    const t = await readTrace({ file: f, serviceMs: 1, tokenModel });
    assert.equal(t.format, 'mooncake');
    assert.deepEqual([t.startMs, t.endMs, t.requests], [0, 120_000, 4]);
    assert.deepEqual(
      t.deployments.map((d) => d.name),
      ['mooncake-conversation'],
    );
    const { at, serviceMs } = t.deployments[0]!.requestsFor(1);
    assert.deepEqual([...at], [0, 2000, 2000, 64_000]);
    assert.deepEqual([...serviceMs], [115, 5 + 6758 + 5000, 5 + 7322 + 4900, 5 + 10 + 100]);
  });

  it('names the file, line and problem for malformed rows', async () => {
    const good = mooncakeJsonl([[0, 1, 1]]);
    const cases: [string, RegExp][] = [
      ['{"timestamp": 1, "input_length": 2,\n', /:2: not valid JSON/],
      ['{"timestamp": 1, "input_length": 2}\n', /:2: output_length is missing/],
      ['{"timestamp": -1, "input_length": 2, "output_length": 3}\n', /:2: timestamp must be a number ≥ 0/],
      ['[1, 2, 3]\n', /:2: expected one JSON object per line/],
    ];
    let k = 0;
    for (const [row, re] of cases)
      await assert.rejects(
        readTrace({ file: dir.file(`bad${k++}.jsonl`, good + row), serviceMs: 1 }),
        (e: unknown) => e instanceof TraceError && re.test(e.message),
      );
  });
});

describe('the shipped LLM traces', () => {
  it('azure_llm_2023_conv.csv.gz: 19,366 requests of one deployment over 59 minutes', async () => {
    const t = await readTrace({ file: DATA.azureLlmConv, serviceMs: 1 });
    assert.equal(t.format, 'azure-llm-2023');
    assert.deepEqual([t.requests, t.deployments.length, t.startMs, t.endMs], [19_366, 1, 0, 59 * 60_000]);
    const d = t.deployments[0]!;
    assert.equal(d.name, 'azure-llm-2023-conv');
    const { at } = d.requestsFor(1);
    assert.equal(at.length, 19_366);
    assert.equal(at[0], 0);
    // Mean prompt ~1,155 and output ~211 tokens (data/README.md) under the default model: ~6.6 s.
    assert.ok(d.meanServiceMs > 6000 && d.meanServiceMs < 7000, `${d.meanServiceMs}`);
  });

  it('mooncake_conversation_trace.jsonl.gz: 12,031 requests of one deployment', async () => {
    const t = await readTrace({ file: DATA.mooncakeConversation, serviceMs: 1 });
    assert.equal(t.format, 'mooncake');
    assert.deepEqual([t.requests, t.deployments.length, t.startMs], [12_031, 1, 0]);
    assert.equal(t.deployments[0]!.name, 'mooncake-conversation');
    assert.equal(t.deployments[0]!.requestsFor(1).at.length, 12_031);
  });
});
