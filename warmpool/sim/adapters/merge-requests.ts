import { EventHeap } from '../engine/event-heap.ts';
import type { Requests } from '../trace/types.ts';

/**
 * Several deployments' requests (each sorted by arrival) as one stream sorted by arrival, each request
 * tagged with `adapterOf[part]` when given. A k-way merge: O(n log k), no sort of the whole stream.
 * Equal arrivals come out in a fixed order (the heap breaks ties by insertion): a run is deterministic.
 */
export function mergeRequests(parts: readonly Requests[], adapterOf?: readonly number[]): Requests {
  const n = parts.reduce((s, p) => s + p.at.length, 0);
  const at = new Float64Array(n);
  const serviceMs = new Float64Array(n);
  const adapter = adapterOf === undefined ? undefined : new Int32Array(n);
  const next = new Int32Array(parts.length);
  const heap = new EventHeap();
  parts.forEach((p, k) => {
    if (p.at.length > 0) heap.push(p.at[0]!, k);
  });
  for (let i = 0; heap.size > 0; i++) {
    const k = heap.pop();
    const p = parts[k]!;
    const j = next[k]!++;
    at[i] = p.at[j]!;
    serviceMs[i] = p.serviceMs[j]!;
    if (adapter !== undefined) adapter[i] = adapterOf![k]!;
    if (j + 1 < p.at.length) heap.push(p.at[j + 1]!, k);
  }
  return adapter === undefined ? { at, serviceMs } : { at, serviceMs, adapter };
}
