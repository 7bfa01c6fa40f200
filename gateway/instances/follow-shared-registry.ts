import { type Clock, systemClock, unrefTimer } from '../../runtime/time/clock.ts';
import type {
  InstanceEntry,
  RegistryEvent,
  SharedInstanceRegistry,
} from '../shared-instance-registry/index.ts';
import type { InstanceTable } from './instance-table.ts';
import type { UpstreamInstance } from './upstream-instance.ts';

export interface FollowSharedRegistryOptions {
  /** How often instances whose entry expired are checked; they go once not routable. Default 1000 ms. */
  orphanCheckMs?: number;
  /** Default systemClock. */
  clock?: Clock;
}

export interface SharedRegistryFollower {
  /** Stops following; the instances already added stay in the gateway's registry. */
  close(): Promise<void>;
}

interface Tracked {
  readonly entry: InstanceEntry;
  instance: UpstreamInstance | null;
  /** Its entry expired (the controller stopped refreshing it): kept while it still answers /ready. */
  orphan: boolean;
}

/**
 * Keeps the gateway's instance registry in step with the shared one: a ready entry is added (and polled
 * by the gateway as any other instance); a draining, stopped, starting or removed one is taken out of
 * routing at once. An entry that expired is not proof the instance is gone (only that its controller went
 * quiet), so it stays until the gateway's own polls find it unroutable.
 */
export function followSharedRegistry(
  shared: Pick<SharedInstanceRegistry, 'list' | 'subscribe'>,
  registry: InstanceTable,
  o: FollowSharedRegistryOptions = {},
): SharedRegistryFollower {
  const tracked = new Map<string, Tracked>();
  // Add and remove of one entry run in order; different entries do not wait on each other.
  const chains = new Map<string, Promise<void>>();
  const run = (id: string, op: () => Promise<void>): void => {
    const next = (chains.get(id) ?? Promise.resolve()).then(op).catch(() => undefined);
    chains.set(id, next);
    void next.then(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
  };

  const attach = (entry: InstanceEntry): void => {
    const t: Tracked = { entry, instance: null, orphan: false };
    tracked.set(entry.id, t);
    run(entry.id, async () => {
      t.instance = await registry.add(entry.deployment, entry.url);
    });
  };
  const detach = (id: string): void => {
    const t = tracked.get(id);
    if (t === undefined) return;
    tracked.delete(id);
    run(id, async () => {
      if (t.instance !== null) await registry.remove(t.instance);
    });
  };

  const apply = (ev: RegistryEvent): void => {
    const { entry } = ev;
    const held = tracked.get(entry.id);
    if (ev.type === 'remove') {
      if (ev.reason === 'expired' && held !== undefined) held.orphan = true;
      else detach(entry.id);
      return;
    }
    if (entry.state !== 'ready') return detach(entry.id);
    if (held !== undefined && held.entry.url === entry.url && held.entry.deployment === entry.deployment) {
      held.orphan = false;
      return;
    }
    detach(entry.id);
    attach(entry);
  };

  const unsubscribe = shared.subscribe(apply);
  for (const entry of shared.list()) apply({ type: 'upsert', entry });
  const clock = o.clock ?? systemClock;
  const timer = clock.setInterval(() => {
    for (const [id, t] of tracked) if (t.orphan && t.instance !== null && !t.instance.routable) detach(id);
  }, o.orphanCheckMs ?? 1000);
  unrefTimer(timer);

  return {
    async close() {
      unsubscribe();
      clock.clearInterval(timer);
      await Promise.all(chains.values());
    },
  };
}
