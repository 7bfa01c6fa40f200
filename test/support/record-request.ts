// A request already over, recorded as the gateway records one: its arrival, then its end.
import type { HistoryStore, RequestEnd } from '../../gateway/request-history/index.ts';

export function recordRequest(store: HistoryStore, r: RequestEnd): void {
  store.recordArrival(r.model, r.at);
  store.recordEnd(r);
}
