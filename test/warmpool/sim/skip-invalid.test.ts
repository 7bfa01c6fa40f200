// --skip-invalid: malformed rows are counted and left out, in every reader; without it the first fails.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readTrace, TraceError } from '../../../warmpool/sim/index.ts';
import { azureInvocations, azureLlmCsv, DURATIONS_HEAD, mooncakeJsonl, tempDir } from './helpers.ts';

const dir = tempDir();
after(() => dir.remove());

const read = (file: string, skipInvalid: boolean) => readTrace({ file, serviceMs: 1, skipInvalid });

describe('--skip-invalid', () => {
  it('generic CSV: counts every bad row, keeps the first five with line and reason, reads the rest', async () => {
    const f = dir.file(
      'g.csv',
      [
        'timestamp_ms,model,duration_ms',
        '0,a,1',
        '1', // 3: wrong field count
        'soon,a,1', // 4: bad timestamp
        '2,,1', // 5: no model
        '3,a,-1', // 6: negative number
        '4,"a,1', // 7: unterminated quote
        '5,b,1',
        '6,a,x', // 9: not a number
      ].join('\n'),
    );
    const t = await read(f, true);
    assert.deepEqual([t.requests, t.deployments.map((d) => d.requests)], [2, [1, 1]]);
    assert.equal(t.skipped.rows, 6);
    assert.deepEqual(
      t.skipped.examples.map((e) => e.line),
      [3, 4, 5, 6, 7],
    );
    assert.match(t.skipped.examples[0]!.reason, /expected 3 fields, found 1/);
    assert.match(t.skipped.examples[2]!.reason, /model must be a non-empty string/);
    assert.match(t.skipped.examples[3]!.reason, /duration_ms must be a number ≥ 0, got "-1"/);
    await assert.rejects(read(f, false), (e: unknown) => e instanceof TraceError && e.line === 3);
  });

  it('generic JSON Lines: unparsable JSON and a conflicting slots value', async () => {
    const f = dir.file(
      'g.jsonl',
      [
        '{"timestamp_ms":0,"model":"a","slots":2}',
        '{"timestamp_ms":1,',
        '{"timestamp_ms":2,"model":"a","slots":3}',
        '{"timestamp_ms":3,"model":"a"}',
      ].join('\n'),
    );
    const t = await read(f, true);
    assert.equal(t.requests, 2);
    assert.deepEqual(
      t.skipped.examples.map((e) => e.line),
      [2, 3],
    );
    assert.equal(t.deployments[0]!.slots, 2);
    await assert.rejects(read(f, false), /g\.jsonl:2: not valid JSON/);
  });

  it('Azure Functions 2019: a row with a bad count cell is left out with its function; a bad durations row names its file', async () => {
    const f = dir.file(
      'sk_invocations.csv',
      azureInvocations({ f1: [1, 2], f2: [3, 4], f3: [5, 6] }).replace('f2,f2,f2,3,4', 'f2,f2,f2,3,-4'),
    );
    const durations = dir.file(
      'sk_durations.csv',
      `${DURATIONS_HEAD}\nf1,f1,f1,5,100,10,400,x,10,50,100,150,300,400\n`,
    );
    const t = await readTrace({ file: f, durations, serviceMs: 7, skipInvalid: true });
    assert.deepEqual(
      t.deployments.map((d) => [d.name, d.meanServiceMs]),
      [
        ['f1', 7],
        ['f3', 7],
      ],
    );
    assert.deepEqual(t.skipped, {
      rows: 2,
      examples: [
        { line: 3, reason: 'minute_2 must be an integer ≥ 0, got "-4"' },
        { line: 2, reason: `${durations}: percentile_Average_0 must be a number ≥ 0, got "x"` },
      ],
    });
  });

  it('Azure LLM 2023 and Mooncake: bad rows counted, the rest read', async () => {
    const llm = dir.file(
      'llm.csv',
      azureLlmCsv([
        ['2023-11-16 18:15:46.6805900', 374, 44],
        ['yesterday', 1, 1],
        ['2023-11-16 18:15:47.0000000', -3, 1],
        ['2023-11-16 18:15:48.0000000', 3, 1],
      ]),
    );
    const a = await read(llm, true);
    assert.deepEqual([a.requests, a.skipped.rows, a.skipped.examples.map((e) => e.line)], [2, 2, [3, 4]]);
    await assert.rejects(read(llm, false), /llm\.csv:3: TIMESTAMP must be a UTC date-time/);

    const mc = dir.file('mc.jsonl', mooncakeJsonl([[0, 1, 1]]) + 'not json\n' + mooncakeJsonl([[5, 1, 1]]));
    const m = await read(mc, true);
    assert.deepEqual([m.requests, m.skipped.rows, m.skipped.examples[0]!.line], [2, 1, 2]);
    await assert.rejects(read(mc, false), /mc\.jsonl:2: not valid JSON/);
  });

  it('still fails on a bad header, and on a trace with no valid row', async () => {
    await assert.rejects(
      read(dir.file('h.csv', 'timestamp_ms,duration_ms\n1,2\n'), true),
      /h\.csv:1: the header has no "model"/,
    );
    await assert.rejects(
      read(dir.file('none.csv', 'timestamp_ms,model\nx,a\n'), true),
      /none\.csv:1: no requests/,
    );
  });
});
