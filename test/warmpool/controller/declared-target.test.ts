import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScalingPolicy } from '../../../gateway/deployments/index.ts';
import { declaredTarget, type DeclaredTargetInput } from '../../../warmpool/controller/declared-target.ts';

const S = (o: Partial<ScalingPolicy> = {}): ScalingPolicy => ({
  minInstances: 0,
  maxInstances: 4,
  warmBuffer: 1,
  keepAliveMs: 60_000,
  ttftSloMs: 500,
  ...o,
});
const T0 = 1_700_000_000_000;

describe('declaredTarget', () => {
  const cases: [string, Omit<DeclaredTargetInput, 'now'> & { now?: number }, number, RegExp][] = [
    [
      'max(min, buffer) with no traffic, scale to zero off',
      { scaling: S({ minInstances: 1 }), inUse: 0, scaleToZero: false },
      1,
      /idle: max\(min, buffer\) = 1/,
    ],
    [
      'demand + buffer',
      { scaling: S(), inUse: 2, current: 3, lastRequestAt: T0, scaleToZero: true },
      3,
      /max\(min, demand \+ buffer\) = 3/,
    ],
    [
      'clamped to maxInstances',
      { scaling: S({ maxInstances: 3 }), inUse: 5, current: 3, lastRequestAt: T0, scaleToZero: true },
      3,
      /max 3/,
    ],
    [
      'minInstances floors the target',
      { scaling: S({ minInstances: 3 }), inUse: 1, current: 3, lastRequestAt: T0, scaleToZero: true },
      3,
      /demand/,
    ],
    [
      'queued at zero scales up at once',
      { scaling: S({ warmBuffer: 0 }), inUse: 0, queued: 2, current: 0, scaleToZero: true },
      1,
      /scale up from zero/,
    ],
    [
      'queued at zero even with keep-alive long expired',
      {
        scaling: S({ warmBuffer: 0 }),
        inUse: 0,
        queued: 1,
        current: 0,
        lastRequestAt: T0 - 10 * 60_000,
        scaleToZero: true,
      },
      1,
      /scale up from zero/,
    ],
    [
      'keep-alive holds capacity above min after the last request',
      { scaling: S(), inUse: 0, current: 3, lastRequestAt: T0 - 59_999, scaleToZero: true },
      3,
      /keep-alive: holding 3 for 1 ms more/,
    ],
    [
      'keep-alive holds capacity above demand + buffer',
      { scaling: S(), inUse: 1, current: 4, lastRequestAt: T0 - 1000, scaleToZero: true },
      4,
      /keep-alive: holding 4/,
    ],
    [
      'keep-alive expired exactly at keepAliveMs: scale to zero',
      { scaling: S(), inUse: 0, current: 3, lastRequestAt: T0 - 60_000, scaleToZero: true },
      0,
      /scale to zero/,
    ],
    [
      'keep-alive expired, scale to zero not allowed: max(min, buffer)',
      { scaling: S(), inUse: 0, current: 3, lastRequestAt: T0 - 60_000, scaleToZero: false },
      1,
      /idle: max\(min, buffer\) = 1/,
    ],
    [
      'keep-alive expired, minInstances 1: never zero',
      {
        scaling: S({ minInstances: 1, warmBuffer: 0 }),
        inUse: 0,
        current: 3,
        lastRequestAt: T0 - 60_001,
        scaleToZero: true,
      },
      1,
      /idle/,
    ],
    [
      'never requested, scale to zero allowed',
      { scaling: S(), inUse: 0, current: 1, scaleToZero: true },
      0,
      /scale to zero/,
    ],
    [
      'idle within keep-alive with nothing above base',
      { scaling: S({ warmBuffer: 2 }), inUse: 0, current: 1, lastRequestAt: T0 - 5, scaleToZero: true },
      2,
      /idle within keep-alive/,
    ],
    [
      'keep-alive hold is clamped to maxInstances',
      { scaling: S({ maxInstances: 2 }), inUse: 0, current: 5, lastRequestAt: T0, scaleToZero: true },
      2,
      /keep-alive: holding 2/,
    ],
    [
      'maxInstances 0 means none, even with queued requests',
      { scaling: S({ maxInstances: 0 }), inUse: 0, queued: 3, scaleToZero: true },
      0,
      /max 0/,
    ],
  ];
  for (const [name, input, desired, reason] of cases)
    it(name, () => {
      const t = declaredTarget({ now: T0, ...input });
      assert.equal(t.desired, desired);
      assert.match(t.reason, reason);
    });
});
