import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KVCacheManager } from '../../../runtime/engine/kv/index.ts';
import { DEFAULT_SAMPLING_PARAMS } from '../../../runtime/engine/sampling/params.ts';
import { Rng } from '../../../runtime/engine/sampling/rng.ts';
import { Scheduler } from '../../../runtime/engine/scheduler/scheduler.ts';
import { PRIORITY, Sequence } from '../../../runtime/engine/sequence.ts';

const BLOCK = 4;

function setup(numBlocks: number): { kv: KVCacheManager; scheduler: Scheduler } {
  const kv = new KVCacheManager({ numBlocks, blockSize: BLOCK, modelId: 'm', enablePrefixCaching: false });
  const limits = { maxRunningSeqs: 4, maxBatchedTokens: 16, maxPrefillChunk: 16, enablePrefixCaching: false };
  return { kv, scheduler: new Scheduler(limits, kv) };
}

function seq(requestId: string, promptLength: number, arrival: number, n = 1): Sequence {
  return new Sequence({
    requestId,
    index: 0,
    priority: PRIORITY.interactive,
    arrival,
    params: { ...DEFAULT_SAMPLING_PARAMS, n },
    rng: Rng.fromSeed(1),
    tokens: Array.from({ length: promptLength }, (_, i) => i + 1),
  });
}

describe('Scheduler', () => {
  it('admits a waiting sequence and records its progress only when the step computed it', () => {
    const { kv, scheduler } = setup(8);
    const a = seq('a', 6, 0);
    scheduler.add(a);
    assert.equal(scheduler.waiting.length, 1);

    const plan = scheduler.schedule();
    assert.deepEqual(
      plan.scheduled.map((s) => [s.seq.id, s.numNew, s.samples]),
      [['a#0', 6, true]],
    );
    assert.equal(scheduler.waiting.length, 0);
    assert.deepEqual(scheduler.running, [a]);
    assert.equal(a.numComputed, 0, 'nothing is computed before the step ran');

    assert.equal(scheduler.computed(plan.scheduled[0]!), true);
    assert.equal(a.numComputed, 6);
    a.append(99);
    assert.deepEqual(
      scheduler.schedule().scheduled.map((s) => [s.seq.id, s.numNew]),
      [['a#0', 1]],
    );

    scheduler.finish(a);
    assert.equal(scheduler.hasWork(), false);
    assert.equal(kv.has(a.id), false);
  });

  it('preempts the latest arrival when blocks run out, and it waits to be computed again', () => {
    const { kv, scheduler } = setup(3);
    const a = seq('a', 8, 0); // 2 blocks
    const b = seq('b', 4, 1); // 1 block: the pool is full
    scheduler.add(a);
    scheduler.add(b);
    for (const s of scheduler.schedule().scheduled) scheduler.computed(s);
    a.append(99); // a needs a third block
    b.append(99);

    const plan = scheduler.schedule();
    assert.deepEqual(
      plan.scheduled.map((s) => [s.seq.id, s.numNew]),
      [['a#0', 1]],
    );
    assert.deepEqual(plan.preempted, [b]);
    assert.equal(b.numComputed, 0);
    assert.equal(b.preemptions, 1);
    assert.equal(kv.has(b.id), false);
    assert.deepEqual([...scheduler.waiting], [b]);
    assert.deepEqual(scheduler.running, [a]);
  });

  it('forks the prompt of an n>1 request into siblings that share its blocks and progress', () => {
    const { kv, scheduler } = setup(8);
    const parent = seq('p', 5, 0, 2);
    scheduler.add(parent);
    assert.equal(parent.pendingFork, true);
    scheduler.computed(scheduler.schedule().scheduled[0]!);

    const child = new Sequence({
      requestId: 'p',
      index: 1,
      priority: parent.priority,
      arrival: parent.arrival,
      params: parent.params,
      rng: Rng.fromSeed(1, 1),
      tokens: [...parent.tokens],
    });
    assert.equal(child.pendingFork, false, 'only the first sequence forks');
    scheduler.fork(parent, [child]);

    assert.equal(parent.pendingFork, false);
    assert.equal(child.numComputed, 5);
    assert.deepEqual(scheduler.running, [parent, child]);
    assert.deepEqual(kv.blockTable(child.id), kv.blockTable(parent.id));
  });

  it('aborts a request wherever its sequences are, and a step that ran meanwhile changes nothing', () => {
    const { kv, scheduler } = setup(8);
    const a = seq('a', 4, 0);
    scheduler.add(a);
    const [ran] = scheduler.schedule().scheduled;
    const b = seq('b', 4, 1);
    scheduler.add(b);

    assert.deepEqual(scheduler.abort('a'), [a]);
    assert.equal(scheduler.computed(ran!), false);
    assert.equal(a.numComputed, 0);
    assert.deepEqual(scheduler.abort('b'), [b]);
    assert.equal(scheduler.hasWork(), false);
    assert.equal(kv.numSequences(), 0);
  });
});
