/** The hash of one bucket's counters. */
export function bucketKey(prefix: string, model: string, bucketMs: number, start: number): string {
  return `${prefix}${model}:${bucketMs}:${start}`;
}

/** The packed arrivals of one page of buckets (see pages.ts). */
export function pageKey(prefix: string, model: string, bucketMs: number, pageStart: number): string {
  return `${prefix}${model}:arr:${bucketMs}:${pageStart}`;
}
