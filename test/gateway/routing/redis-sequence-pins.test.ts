// Sequence pins shared by gateway replicas through a real redis-server: a sequence started through one
// replica continues through another, expires with its idle timeout unless used, ends everywhere; while
// Redis is away each replica answers from the pins it made, and a pin Redis never got is not lost when
// it comes back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisSequencePins } from '../../../gateway/routing/index.ts';
import { systemClock } from '../../../runtime/time/clock.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RedisSequencePins: pins shared by replicas (real redis-server)', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  const opened: RedisSequencePins[] = [];
  /** A replica's store, once its connection is up (until then it answers from its own memory). */
  const replica = async () => {
    const pins = new RedisSequencePins({ url: redis.url, clock: systemClock });
    opened.push(pins);
    const probe = `probe-${opened.length}`;
    for (let i = 0; ; i++) {
      await pins.pin('probe', probe, 'x', 60_000);
      if ((await connectedTo(pins, probe)) || i > 200) break;
      await sleep(25);
    }
    return pins;
  };
  // A fresh store's pin reached Redis when another store can read it.
  let reader: RedisSequencePins | null = null;
  const connectedTo = async (pins: RedisSequencePins, probe: string) => {
    reader ??= new RedisSequencePins({ url: redis.url, clock: systemClock });
    return pins !== reader && (await reader.where('probe', probe)).kind === 'pinned';
  };
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const p of [...opened, ...(reader ? [reader] : [])]) await p.close();
    await redis?.stop();
  });

  it('a sequence pinned through one replica is found, used and ended through another', async () => {
    const a = await replica();
    const b = await replica();
    await a.pin('rnn', 's1', 'inst-7', 60_000);
    assert.deepEqual(await b.where('rnn', 's1'), { kind: 'pinned', instanceId: 'inst-7' });
    assert.deepEqual(await b.where('rnn', 'other'), { kind: 'unknown' });
    assert.deepEqual(await b.where('rnn@2', 's1'), { kind: 'unknown' }, 'pools are apart');
    await b.unpin('rnn', 's1');
    assert.deepEqual(await a.where('rnn', 's1'), { kind: 'unknown' }, 'ended through b: ended for a');
  });

  it('expires after its idle timeout; each use restarts the timer', async () => {
    const a = await replica();
    const b = await replica();
    await a.pin('rnn', 'kept', 'inst-1', 1500);
    await a.pin('rnn', 'idle', 'inst-1', 300);
    // Used through b every 100 ms for well past its timeout: still open.
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      assert.equal((await b.where('rnn', 'kept')).kind, 'pinned');
      await sleep(100);
    }
    // The idle one, never used, expired in Redis (a's own memory does not keep it alive either).
    assert.deepEqual(await b.where('rnn', 'idle'), { kind: 'unknown' });
    assert.deepEqual(await a.where('rnn', 'idle'), { kind: 'unknown' });
  });

  it('while Redis is away each replica answers from its own pins; one Redis never got survives its return', async () => {
    const a = await replica();
    const b = await replica();
    await a.pin('rnn', 'before', 'inst-1', 60_000);
    await redis.kill();
    // Neither waits on the outage, nor throws.
    await a.pin('rnn', 'during', 'inst-2', 60_000);
    assert.deepEqual(await a.where('rnn', 'before'), { kind: 'pinned', instanceId: 'inst-1' });
    assert.deepEqual(await a.where('rnn', 'during'), { kind: 'pinned', instanceId: 'inst-2' });
    assert.deepEqual(await b.where('rnn', 'during'), { kind: 'unknown' }, 'b cannot know');
    await redis.restart(); // back empty, as a Redis without persistence comes back
    let back = false;
    for (let i = 0; i < 400 && !back; i++) {
      back = (await b.where('rnn', 'probe-check')).kind === 'unknown' && (await reachable(b));
      if (!back) await sleep(25);
    }
    assert.ok(back, 'the replicas reconnect');
    assert.deepEqual(
      await a.where('rnn', 'during'),
      { kind: 'pinned', instanceId: 'inst-2' },
      'made while Redis was away: kept by a',
    );
  });

  /** Whether `pins` reaches Redis again: a pin it makes is seen by a fresh reader. */
  async function reachable(pins: RedisSequencePins): Promise<boolean> {
    const id = `reach-${Math.random()}`;
    await pins.pin('probe', id, 'x', 60_000);
    return connectedTo(pins, id);
  }
});
