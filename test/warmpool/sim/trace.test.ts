import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readTrace, TraceError } from '../../../warmpool/sim/index.ts';
import { AZURE, azureInvocations, csvTrace, DURATIONS_HEAD, tempDir } from './helpers.ts';

const dir = tempDir();
after(() => dir.remove());

describe('Azure Functions 2019 reader', () => {
  const inv = dir.file('az_invocations.csv', azureInvocations({ f1: [2, 0, 3], f2: [0, 1, 0] }));
  dir.file('az_durations.csv', `${DURATIONS_HEAD}\nf1,f1,f1,5,100,10,400,10,10,50,100,150,300,400\n`);

  it('reads counts per function, spreads arrivals within their minutes and samples service times', async () => {
    const t = await readTrace({ file: inv, serviceMs: 777 });
    assert.equal(t.format, 'azure-functions');
    assert.deepEqual([t.startMs, t.endMs, t.requests], [0, 180_000, 6]);
    assert.deepEqual(
      t.deployments.map((d) => [d.name, d.requests, d.meanServiceMs]),
      [
        ['f1', 5, 100],
        ['f2', 1, 777],
      ],
    );
    const { at, serviceMs } = t.deployments[0]!.requestsFor(1);
    assert.equal(at.length, 5);
    assert.ok(at[0]! >= 0 && at[1]! < 60_000, 'minute 1 holds 2');
    assert.ok(at[2]! >= 120_000 && at[4]! < 180_000, 'minute 3 holds 3');
    assert.deepEqual(
      [...at],
      [...at].sort((a, b) => a - b),
    );
    for (const s of serviceMs) assert.ok(s >= 10 && s <= 400, `${s} within the percentiles`);
    assert.deepEqual(
      [...t.deployments[1]!.requestsFor(1).serviceMs],
      [777],
      'no durations row: the fallback',
    );
  });

  it('draws the same requests for the same seed and others for another', async () => {
    const t = await readTrace({ file: inv, serviceMs: 1 });
    const d = t.deployments[0]!;
    assert.deepEqual(d.requestsFor(7), d.requestsFor(7));
    assert.notDeepEqual([...d.requestsFor(7).at], [...d.requestsFor(8).at]);
  });

  it('uses a fixed service time when there is no durations file', async () => {
    const t = await readTrace({
      file: dir.file('lonely.csv', azureInvocations({ g: [1, 1] })),
      serviceMs: 250,
    });
    assert.match(t.serviceTimes, /fixed 250 ms/);
    assert.deepEqual([...t.deployments[0]!.requestsFor(1).serviceMs], [250, 250]);
  });

  it('names the file, line and problem for malformed rows', async () => {
    const bad = dir.file('bad_invocations.csv', azureInvocations({ f1: [1, 2] }) + 'f2,f2,f2,1,x\n');
    await assert.rejects(
      readTrace({ file: bad, serviceMs: 1 }),
      (e: unknown) =>
        e instanceof TraceError && e.line === 3 && /minute_2 must be an integer/.test(e.message),
    );
    const short = dir.file('short_invocations.csv', azureInvocations({ f1: [1, 2] }) + 'f2,f2,f2,1\n');
    await assert.rejects(
      readTrace({ file: short, serviceMs: 1 }),
      /short_invocations\.csv:3: expected 5 fields, found 4/,
    );
    const head = dir.file(
      'head_invocations.csv',
      'HashFunction,HashApp,HashOwner,minute_1,minute_3\nf,f,f,1,1\n',
    );
    await assert.rejects(
      readTrace({ file: head, serviceMs: 1 }),
      /:1: column 5 of the header must be minute_2/,
    );
  });

  it('reads a --limit-functions slice of the real trace with its durations', async () => {
    const t = await readTrace({ file: AZURE, serviceMs: 1000, limitFunctions: 5 });
    assert.equal(t.deployments.length, 5);
    assert.deepEqual([t.startMs, t.endMs], [0, 1440 * 60_000]);
    assert.equal(
      t.requests,
      t.deployments.reduce((s, d) => s + d.requests, 0),
    );
    assert.match(t.serviceTimes, /5 of 5 functions/);
    assert.equal(t.deployments[0]!.requestsFor(1).at.length, t.deployments[0]!.requests);
  });
});

describe('generic reader', () => {
  it('reads CSV, grouping by model and sorting each by time', async () => {
    const f = dir.file(
      'g.csv',
      csvTrace([
        [5000, 'b', 10],
        [1000, 'a', 20],
        [3000, 'a', 30],
        [2000, 'a', 40],
      ]),
    );
    const t = await readTrace({ file: f, serviceMs: 1 });
    assert.equal(t.format, 'generic');
    assert.deepEqual([t.startMs, t.endMs, t.requests], [0, 60_000, 4]);
    const a = t.deployments.find((d) => d.name === 'a')!.requestsFor(1);
    assert.deepEqual([...a.at], [1000, 2000, 3000]);
    assert.deepEqual([...a.serviceMs], [20, 40, 30], 'service times move with their requests');
    assert.equal(t.deployments.find((d) => d.name === 'a')!.meanServiceMs, 30);
  });

  it('reads JSON Lines with optional fields: duration_ms, else tokens, else --service-ms', async () => {
    const f = dir.file(
      'g.jsonl',
      [
        '{"timestamp_ms": 61000, "model": "m", "input_tokens": 10, "output_tokens": 5}',
        '',
        '{"timestamp_ms": 62000, "model": "m", "duration_ms": 300, "output_tokens": 5}',
        '{"timestamp_ms": 63000, "model": "m"}',
      ].join('\n'),
    );
    const t = await readTrace({ file: f, serviceMs: 100 });
    assert.deepEqual([t.startMs, t.endMs, t.requests], [60_000, 120_000, 3]);
    // The default token model: 0.2 ms per input token, 30 ms per output token.
    assert.deepEqual([...t.deployments[0]!.requestsFor(1).serviceMs], [152, 300, 100]);
    assert.match(t.serviceTimes, /duration_ms of 1, token model \(.*\) for 1, 100 ms for 1 of 3 requests/);
  });

  it('names the file, line and problem for malformed rows', async () => {
    const cases: [string, string, RegExp][] = [
      ['m1.csv', 'timestamp_ms,duration_ms\n1,2\n', /m1\.csv:1: the header has no "model" column/],
      [
        'm2.csv',
        'timestamp_ms,model\n1,a\nsoon,a\n',
        /m2\.csv:3: timestamp_ms must be a number ≥ 0, got "soon"/,
      ],
      ['m3.csv', 'timestamp_ms,model\n1,a,3\n', /m3\.csv:2: expected 2 fields, found 3/],
      ['m4.jsonl', '{"timestamp_ms":1,"model":"a"}\n{"timestamp_ms":2,\n', /m4\.jsonl:2: not valid JSON/],
      ['m5.jsonl', '{"timestamp_ms":1}\n', /m5\.jsonl:1: model must be a non-empty string/],
      [
        'm6.jsonl',
        '{"timestamp_ms":1,"model":"a","duration_ms":-4}\n',
        /m6\.jsonl:1: duration_ms must be a number ≥ 0/,
      ],
      ['m7.csv', 'timestamp_ms,model\n1,"a\n', /m7\.csv:2: unterminated quoted field/],
    ];
    for (const [name, text, re] of cases)
      await assert.rejects(readTrace({ file: dir.file(name, text), serviceMs: 1 }), (e: unknown) => {
        assert.ok(e instanceof TraceError, `${name}: ${String(e)}`);
        assert.match(e.message, re);
        return true;
      });
    await assert.rejects(
      readTrace({ file: `${dir.path}/missing.csv`, serviceMs: 1 }),
      /missing\.csv:0: cannot read/,
    );
  });
});
