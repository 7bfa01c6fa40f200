// Per-model cold start and slots stated by a generic trace, read and then simulated.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { POLICIES } from '../../../warmpool/policies/index.ts';
import { readTrace, runPolicy, TraceError, type Trace } from '../../../warmpool/sim/index.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir();
after(() => dir.remove());

const HEAD = 'timestamp_ms,model,duration_ms,cold_start_ms,slots';
let n = 0;
const read = (rows: string[], skipInvalid = false) =>
  readTrace({ file: dir.file(`own${n++}.csv`, [HEAD, ...rows].join('\n')), serviceMs: 1, skipInvalid });

/** keepalive, 10 s cold start and 8 slots by flag, as `npm run sim` defaults. */
const simulate = (t: Trace) =>
  runPolicy(
    t,
    POLICIES.keepalive,
    {
      coldStartMs: 10_000,
      slots: 8,
      tickMs: 2000,
      maxInstances: 100,
      knobs: {},
      startMs: t.startMs,
      endMs: t.endMs,
    },
    1,
  ).summary;

describe('per-model cold_start_ms and slots', () => {
  it('take the first value given for the model; rows that leave them empty agree with it', async () => {
    const t = await read(['0,a,1,30000,', '1,a,1,,2', '2,a,1,30000,', '3,b,1,,', '4,a,1,,2']);
    assert.deepEqual(
      t.deployments.map((d) => [d.name, d.coldStartMs, d.slots]),
      [
        ['a', 30_000, 2],
        ['b', undefined, undefined],
      ],
    );
  });

  it('a later row of the model with another value is malformed, naming its line', async () => {
    await assert.rejects(
      read(['0,a,1,30000,4', '1,b,1,5000,', '2,a,1,,8']),
      (e: unknown) =>
        e instanceof TraceError &&
        e.line === 4 &&
        /slots 8 conflicts with 4, given earlier for model "a"/.test(e.message),
    );
    await assert.rejects(read(['0,a,1,0,', '1,a,1,1,']), /own\d+\.csv:3: cold_start_ms 1 conflicts with 0/);
    await assert.rejects(read(['0,a,1,,0']), /:2: slots must be an integer ≥ 1, got "0"/);
    await assert.rejects(read(['0,a,1,,1.5']), /:2: slots must be an integer ≥ 1, got "1.5"/);
  });

  it('a model with a longer cold start of its own waits longer for its first request', async () => {
    // One request each at t = 0: a waits the flag's 10 s, b its own 30 s.
    const own = simulate(await read(['0,a,1000,,', '0,b,1000,30000,']));
    assert.deepEqual([own.cold_starts, own.wait_ms_p50, own.wait_ms_p99], [2, 10_000, 30_000]);
    const flags = simulate(await read(['0,a,1000,,', '0,b,1000,,']));
    assert.deepEqual([flags.wait_ms_p50, flags.wait_ms_p99], [10_000, 10_000]);
  });

  it('one slot of its own makes a request behind a busy instance a second cold start', async () => {
    // #1 (30 s) at 0 s, #2 at 15 s. With the flag's 8 slots #2 shares the warm instance; with the
    // model's own 1 slot it queues, the policy (told capacity 1) starts a second instance, and #2 is cold.
    const rows = (slots: string) => [`0,a,30000,,${slots}`, '15000,a,1000,,'];
    const eight = simulate(await read(rows('')));
    assert.deepEqual([eight.cold_starts, eight.instances_started, eight.wait_ms_p99], [1, 1, 10_000]);
    const one = simulate(await read(rows('1')));
    assert.deepEqual([one.cold_starts, one.instances_started, one.wait_ms_p99], [2, 2, 11_000]);
  });
});
