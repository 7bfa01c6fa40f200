import type { AdapterSlots } from './adapter-slots.ts';

/** What routing reads of a ready instance. */
export interface Routable {
  readonly busy: number;
  readonly adapters?: AdapterSlots;
}

/**
 * The instance a request for `adapter` goes to, as the gateway routes adapters: the first ready
 * instance (in the order they became ready) that holds it and has a free slot, which spares a load;
 * else the least loaded one with a free slot (the first of equals). Undefined when none has a slot.
 */
export function routeAdapter<T extends Routable>(
  ready: readonly T[],
  slots: number,
  adapter: number,
): T | undefined {
  let least: T | undefined;
  for (const inst of ready) {
    if (inst.busy >= slots) continue;
    if (inst.adapters!.has(adapter)) return inst;
    if (least === undefined || inst.busy < least.busy) least = inst;
  }
  return least;
}
