/** The hash of one bucket's counters. */
export function bucketKey(prefix: string, model: string, bucketMs: number, start: number): string {
  return `${prefix}${model}:${bucketMs}:${start}`;
}

/** The packed arrivals of one page of buckets (see pages.ts). */
export function pageKey(prefix: string, model: string, bucketMs: number, pageStart: number): string {
  return `${prefix}${model}:arr:${bucketMs}:${pageStart}`;
}

/**
 * One store's flush fence (flush-script.ts): which of its flushes landed. Deployment names start with
 * [a-z0-9], so the '_' keeps it apart from every model's keys.
 */
export function flushFenceKey(prefix: string, storeId: string): string {
  return `${prefix}_flush:${storeId}`;
}
