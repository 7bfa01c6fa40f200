import assert from 'node:assert/strict';
import { test } from 'node:test';
import { floorsOf, median, medianPhases, splitPhases } from '../../../warmpool/bench/summary.ts';

test('median of odd and even counts, and of nothing', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('phases add up to spawn → ready, the bare start capped at spawn → live', () => {
  const t = { spawnedAt: 1000, liveAt: 1300, warmingAt: 1480, readyAt: 1495 };
  const p = splitPhases(t, 60);
  assert.deepEqual(p, { spawn_ms: 60, runtime_import_ms: 240, model_load_ms: 180, warmup_ms: 15 });
  assert.equal(p.spawn_ms + p.runtime_import_ms + p.model_load_ms + p.warmup_ms, t.readyAt - t.spawnedAt);
  assert.equal(splitPhases(t, 500).spawn_ms, 300);
  assert.equal(splitPhases(t, 500).runtime_import_ms, 0);
});

test('per-phase medians and the floor of each path', () => {
  const a = { spawn_ms: 1, runtime_import_ms: 10, model_load_ms: 100, warmup_ms: 5 };
  const b = { spawn_ms: 3, runtime_import_ms: 30, model_load_ms: 300, warmup_ms: 7 };
  const c = { spawn_ms: 2, runtime_import_ms: 20, model_load_ms: 200, warmup_ms: 9 };
  assert.deepEqual(medianPhases([a, b, c]), {
    spawn_ms: 2,
    runtime_import_ms: 20,
    model_load_ms: 200,
    warmup_ms: 7,
  });
  // The standby path never starts a process, so its floor leaves the bare node start out.
  assert.deepEqual(floorsOf({ process_start_ms: 50, read_model_ms: 5, session_create_ms: 40 }), {
    standby_ms: 45,
    fresh_process_ms: 95,
  });
});
