import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CANARY_ANALYSIS_DEFAULTS } from '../../../gateway/deployments/index.ts';
import { canaryVerdict, MemoryVersionStats } from '../../../gateway/rollouts/index.ts';

const analysis = { ...CANARY_ANALYSIS_DEFAULTS, minRequests: 20, progressDeadlineMs: 60_000 };
const T0 = 1_700_000_000_000;

/** Figures of the last minute from `n` requests a second apart ending at `now`. */
function figures(
  stats: MemoryVersionStats,
  pool: string,
  now: number,
  n: number,
  errorEvery: number,
  ttftMs: number,
) {
  for (let i = 0; i < n; i++)
    stats.note(pool, now - (n - i) * 1000, errorEvery > 0 && i % errorEvery === 0, ttftMs);
  return stats.figures(pool, now, analysis.windowMs);
}

describe('canary verdict (explicit time)', () => {
  it('waits for a ready instance until the progress deadline, then rolls back', () => {
    const none = { requests: 0, errors: 0, ttftP90Ms: null };
    const waiting = { figures: none, since: T0, ready: false };
    assert.equal(canaryVerdict(analysis, none, waiting, T0 + 59_999).action, 'continue');
    const late = canaryVerdict(analysis, none, waiting, T0 + 60_000);
    assert.equal(late.action, 'rollback');
    assert.match(late.reason, /no ready instance 60 s after the rollout/);
  });

  it('compares nothing until both versions have enough requests in the window', () => {
    const stats = new MemoryVersionStats();
    const now = T0 + 600_000;
    const stable = figures(stats, 'chat', now, 30, 0, 100);
    const canary = figures(stats, 'chat@2', now, 10, 1, 100); // all errors, but only 10
    const v = canaryVerdict(analysis, stable, { figures: canary, since: T0, ready: true }, now);
    assert.deepEqual(v, {
      action: 'continue',
      reason: 'too few requests to compare (canary 10, stable 30, need 20)',
    });
  });

  it('rolls back when the error rate exceeds the stable one by more than the margin', () => {
    const stats = new MemoryVersionStats();
    const now = T0 + 600_000;
    const stable = figures(stats, 'chat', now, 50, 25, 100); // 2 of 50: 4%
    const within = figures(stats, 'chat@2', now, 50, 10, 100); // 5 of 50: 10%, 6 points over (margin 5)
    const v = canaryVerdict(analysis, stable, { figures: within, since: T0, ready: true }, now);
    assert.equal(v.action, 'rollback');
    assert.match(v.reason, /error rate 10.0% against the stable's 4.0%/);
    const fine = figures(new MemoryVersionStats(), 'chat@2', now, 50, 0, 100);
    assert.equal(
      canaryVerdict(analysis, stable, { figures: fine, since: T0, ready: true }, now).action,
      'continue',
    );
  });

  it('rolls back when the TTFT p90 exceeds the stable one by more than the ratio', () => {
    const stats = new MemoryVersionStats();
    const now = T0 + 600_000;
    const stable = figures(stats, 'chat', now, 40, 0, 100);
    const slow = figures(stats, 'chat@2', now, 40, 0, 151);
    const v = canaryVerdict(analysis, stable, { figures: slow, since: T0, ready: true }, now);
    assert.equal(v.action, 'rollback');
    assert.match(v.reason, /TTFT p90 151 ms against the stable's 100 ms/);
    const close = figures(new MemoryVersionStats(), 'chat@2', now, 40, 0, 150);
    assert.equal(
      canaryVerdict(analysis, stable, { figures: close, since: T0, ready: true }, now).action,
      'continue',
    );
  });

  it('reads only the window: failures older than it no longer count', () => {
    const stats = new MemoryVersionStats();
    for (let i = 0; i < 30; i++) stats.note('chat@2', T0 + i * 1000, true, null);
    assert.equal(stats.figures('chat@2', T0 + 30_000, 60_000).errors, 30);
    assert.equal(stats.figures('chat@2', T0 + 30_000 + 60_000, 60_000).requests, 0);
    assert.deepEqual(stats.totals('chat@2'), { requests: 30, errors: 30 });
  });
});
