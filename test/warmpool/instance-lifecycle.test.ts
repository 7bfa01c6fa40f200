import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { followTimings, InstanceLifecycle } from '../../warmpool/index.ts';

/** A clock the test sets by hand. */
function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('InstanceLifecycle', () => {
  it('walks the full life, stamping each transition with the injected clock', () => {
    const c = clock();
    const life = new InstanceLifecycle('i-1', c.now);
    const steps = [
      ['starting', 1010],
      ['loading', 1300],
      ['warming', 1800],
      ['ready-idle', 1850],
      ['serving', 2000],
      ['ready-idle', 2100],
      ['draining', 5000],
      ['stopped', 5200],
    ] as const;
    for (const [s, t] of steps) {
      c.t = t;
      life.move(s);
    }
    assert.equal(life.state, 'stopped');
    assert.deepEqual(life.history, [
      { state: 'requested', at: 1000 },
      ...steps.map(([state, at]) => ({ state, at })),
    ]);
    assert.deepEqual(life.phases(), { startingMs: 290, loadingMs: 500, warmingMs: 50, coldStartMs: 850 });
  });

  it('reports only the phases that have finished', () => {
    const c = clock();
    const life = new InstanceLifecycle('i-2', c.now);
    assert.deepEqual(life.phases(), {});
    c.t = 1100;
    life.move('starting');
    c.t = 1400;
    life.move('loading');
    assert.deepEqual(life.phases(), { startingMs: 300 });
  });

  it('throws on an illegal transition and leaves the state unchanged', () => {
    const life = new InstanceLifecycle('i-3', () => 0);
    assert.throws(() => life.move('ready-idle'), /i-3: illegal transition requested → ready-idle/);
    assert.throws(() => life.move('serving'), /illegal transition/);
    assert.equal(life.state, 'requested');
    life.move('starting');
    assert.throws(() => life.move('stopped'), /illegal transition starting → stopped/);
  });

  it('a stopped or failed instance is terminal', () => {
    const stopped = new InstanceLifecycle('s', () => 0);
    stopped.move('stopped'); // cancelled before it started
    assert.throws(() => stopped.move('starting'), /illegal/);
    assert.throws(() => stopped.fail('late'), /illegal/);
    const failed = new InstanceLifecycle('f', () => 0);
    failed.move('starting');
    failed.fail('exit code 1: model folder missing');
    assert.equal(failed.state, 'failed');
    assert.equal(failed.failure, 'exit code 1: model folder missing');
    assert.throws(() => failed.move('loading'), /illegal transition failed → loading/);
  });

  it('accepts an observed earlier moment but never one before the last transition', () => {
    const c = clock(100);
    const life = new InstanceLifecycle('i-4', c.now);
    c.t = 500;
    life.move('starting', 200);
    assert.equal(life.history.at(-1)!.at, 200);
    assert.throws(() => life.move('loading', 150), /before starting at 200/);
    assert.equal(life.state, 'starting');
  });

  it('draining is reachable from every live state, before ready too', () => {
    for (const upTo of ['starting', 'loading', 'warming', 'ready-idle', 'serving'] as const) {
      const life = new InstanceLifecycle(upTo, () => 0);
      for (const s of ['starting', 'loading', 'warming', 'ready-idle', 'serving'] as const) {
        life.move(s);
        if (s === upTo) break;
      }
      life.move('draining');
      life.move('stopped');
      assert.equal(life.state, 'stopped');
    }
  });
});

describe('followTimings', () => {
  it('moves a lifecycle through the phases a provider observed, at the observed moments', () => {
    const life = new InstanceLifecycle('i', () => 100);
    followTimings(life, { spawnedAt: 120 });
    assert.equal(life.state, 'starting');
    followTimings(life, { spawnedAt: 120, liveAt: 900 });
    assert.equal(life.state, 'loading');
    followTimings(life, { spawnedAt: 120, liveAt: 900, warmingAt: 1500, readyAt: 1600 });
    assert.equal(life.state, 'ready-idle');
    assert.deepEqual(life.phases(), { startingMs: 780, loadingMs: 600, warmingMs: 100, coldStartMs: 1500 });
    followTimings(life, { spawnedAt: 120, liveAt: 900, warmingAt: 1500, readyAt: 1600 }); // idempotent
    assert.equal(life.history.length, 5);
  });

  it('a phase the poll missed lasts 0 ms; a lifecycle already serving is left alone', () => {
    const life = new InstanceLifecycle('i', () => 0);
    followTimings(life, { spawnedAt: 10, liveAt: 400, readyAt: 700 });
    assert.deepEqual(life.phases(), { startingMs: 390, loadingMs: 300, warmingMs: 0, coldStartMs: 700 });
    life.move('serving', 800);
    followTimings(life, { spawnedAt: 10, liveAt: 400, readyAt: 700 });
    assert.equal(life.state, 'serving');
  });
});
