import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  MemorySharedRegistry,
  RedisSharedRegistry,
  type InstanceEntry,
  type RegistryEvent,
  type SharedInstanceRegistry,
} from '../../../gateway/shared-instance-registry/index.ts';
import type { Clock } from '../../../runtime/time/clock.ts';
import { clockReading } from '../../support/clock-reading.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

type Factory = (o: { clock: Clock; ttlMs: number }) => Promise<SharedInstanceRegistry>;

const TTL = 10_000;

function entry(id: string, over: Partial<InstanceEntry> = {}): InstanceEntry {
  return { id, deployment: 'tiny', url: `http://127.0.0.1:1/${id}`, state: 'ready', updatedAt: 0, ...over };
}

/** The behaviour every SharedInstanceRegistry must have, seen from the object that publishes. */
function registryContract(name: string, factory: Factory): void {
  describe(`SharedInstanceRegistry contract: ${name}`, () => {
    let clock = 1_000_000;
    let made: SharedInstanceRegistry[] = [];
    const make = async (): Promise<{ reg: SharedInstanceRegistry; events: RegistryEvent[] }> => {
      const reg = await factory({ clock: clockReading(() => clock), ttlMs: TTL });
      made.push(reg);
      const events: RegistryEvent[] = [];
      reg.subscribe((ev) => events.push(ev));
      return { reg, events };
    };
    afterEach(async () => {
      for (const r of made) await r.close();
      made = [];
      clock = 1_000_000;
    });

    it('lists what is published, by deployment, and announces it', async () => {
      const { reg, events } = await make();
      const a = entry('a', { updatedAt: clock });
      const b = entry('b', { deployment: 'demo', state: 'starting', updatedAt: clock });
      await reg.publish(a);
      await reg.publish(b);
      assert.deepEqual(
        reg.list().sort((x, y) => x.id.localeCompare(y.id)),
        [a, b],
      );
      assert.deepEqual(reg.list('demo'), [b]);
      assert.deepEqual(reg.list('nothing'), []);
      assert.deepEqual(events, [
        { type: 'upsert', entry: a },
        { type: 'upsert', entry: b },
      ]);
    });

    it('announces a change of state, not a refresh that changes only updatedAt', async () => {
      const { reg, events } = await make();
      await reg.publish(entry('a', { updatedAt: clock }));
      clock += 1000;
      await reg.publish(entry('a', { updatedAt: clock }));
      clock += 1000;
      const draining = entry('a', { state: 'draining', updatedAt: clock });
      await reg.publish(draining);
      assert.deepEqual(
        events.map((e) => [e.type, e.entry.state]),
        [
          ['upsert', 'ready'],
          ['upsert', 'draining'],
        ],
      );
      assert.deepEqual(reg.list(), [draining]);
    });

    it('ignores a publish older than the entry it holds', async () => {
      const { reg, events } = await make();
      const now = entry('a', { state: 'draining', updatedAt: clock });
      await reg.publish(now);
      await reg.publish(entry('a', { state: 'ready', updatedAt: clock - 1 }));
      assert.deepEqual(reg.list(), [now]);
      assert.equal(events.length, 1);
    });

    it('removes, announcing it once; removing an unknown id is a no-op', async () => {
      const { reg, events } = await make();
      const a = entry('a', { updatedAt: clock });
      await reg.publish(a);
      await reg.remove('a');
      await reg.remove('a');
      await reg.remove('never');
      assert.deepEqual(reg.list(), []);
      assert.deepEqual(events, [
        { type: 'upsert', entry: a },
        { type: 'remove', entry: a, reason: 'removed' },
      ]);
    });

    it('treats entries not refreshed within the TTL as gone', async () => {
      const { reg, events } = await make();
      const a = entry('a', { updatedAt: clock });
      const b = entry('b', { updatedAt: clock });
      await reg.publish(a);
      await reg.publish(b);
      clock += TTL; // exactly the TTL: still live
      await reg.publish(entry('b', { updatedAt: clock }));
      await reg.sync();
      assert.equal(reg.list().length, 2);
      clock += 1;
      await reg.sync();
      assert.deepEqual(
        reg.list().map((e) => e.id),
        ['b'],
      );
      assert.deepEqual(events.at(-1), { type: 'remove', entry: a, reason: 'expired' });
      // Already stale when published: never shows up.
      await reg.publish(entry('c', { updatedAt: clock - TTL - 1 }));
      assert.deepEqual(
        reg.list().map((e) => e.id),
        ['b'],
      );
    });

    it('stops calling a listener once unsubscribed', async () => {
      const { reg } = await make();
      const seen: RegistryEvent[] = [];
      const unsubscribe = reg.subscribe((ev) => seen.push(ev));
      await reg.publish(entry('a', { updatedAt: clock }));
      unsubscribe();
      await reg.publish(entry('a', { state: 'stopped', updatedAt: clock }));
      assert.equal(seen.length, 1);
    });
  });
}

registryContract('memory', async (o) => new MemorySharedRegistry({ ...o, sweepIntervalMs: 0 }));

describe('redis backend', () => {
  let redis: RedisServer;
  let n = 0;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis.stop();
  });
  registryContract('redis', async (o) => {
    // One key per registry so that tests do not see each other's entries.
    const reg = new RedisSharedRegistry({ url: redis.url, key: `t:${++n}`, resyncIntervalMs: 0, ...o });
    await reg.connected();
    return reg;
  });
});
