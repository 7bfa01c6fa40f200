import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeploymentTimeline } from '../../../warmpool/controller/deployment-timeline.ts';
import type { PoolInstanceStatus } from '../../../warmpool/pool/index.ts';

const T0 = 1_800_000_000_000; // a multiple of 10 s
const starting = (id: string): PoolInstanceStatus => ({ id, state: 'starting', phases: {} });
const ready = (id: string, readyAt: number, coldStartMs?: number): PoolInstanceStatus => ({
  id,
  state: 'ready-idle',
  phases: {},
  readyAt,
  ...(coldStartMs !== undefined && { coldStartMs }),
});

describe('DeploymentTimeline', () => {
  it('keeps the last tick of each 10 s step, with the forecast, desired and warm instances', () => {
    const t = new DeploymentTimeline('d');
    t.note(T0, { desired: 1 }, [starting('a')]);
    t.note(T0 + 9_000, { desired: 1, forecastPerMin: 3 }, [ready('a', T0 + 8_000, 8_000)]);
    t.note(T0 + 10_000, { desired: 2, forecastPerMin: 4.5 }, [ready('a', T0 + 8_000, 8_000), starting('b')]);
    assert.deepEqual(t.view(0).samples, [
      { at: T0 + 9_000, forecastPerMin: 3, desired: 1, warm: 1 },
      { at: T0 + 10_000, forecastPerMin: 4.5, desired: 2, warm: 1 },
    ]);
    assert.deepEqual(t.view(T0 + 9_500).samples, [
      { at: T0 + 10_000, forecastPerMin: 4.5, desired: 2, warm: 1 },
    ]);
    assert.equal(t.forecastPerMin, 4.5);
  });

  it('counts each cold start once, when the instance is first seen ready; adopted ones (no cold start) not', () => {
    const t = new DeploymentTimeline('d');
    t.note(T0, { desired: 2 }, [ready('a', T0 - 100, 2_500), ready('adopted', T0 - 5_000)]);
    t.note(T0 + 500, { desired: 2 }, [ready('a', T0 - 100, 2_500), ready('adopted', T0 - 5_000)]);
    t.note(T0 + 1_000, { desired: 2 }, [ready('b', T0 + 900, 3_100)]);
    t.note(T0 + 1_500, { desired: 2 }, [ready('b', T0 + 900, 3_100)]);
    const v = t.view(0);
    assert.deepEqual(v.coldStarts, [
      { at: T0 - 100, instance: 'a', coldStartMs: 2_500 },
      { at: T0 + 900, instance: 'b', coldStartMs: 3_100 },
    ]);
    assert.equal(v.coldStartsTotal, 2);
    assert.deepEqual(
      t.view(T0).coldStarts.map((c) => c.instance),
      ['b'],
    );
    assert.equal(t.view(T0).coldStartsTotal, 2, 'the total counts those older than the window too');
    assert.equal(t.forecastPerMin, null, 'no forecast without a history');
  });
});
