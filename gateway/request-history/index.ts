export { createHistoryStore, type HistoryStoreOptions } from './create.ts';
export { MemoryHistoryStore, type MemoryHistoryOptions } from './memory-store.ts';
export { MIN_FLUSH_SPACING_MS, RedisHistoryStore, type RedisHistoryOptions } from './redis-store.ts';
export type { Bucket, Counters, HistoryStore, Outcome, RequestEnd, Resolution } from './types.ts';
export { pageReads, PAGE_SLOT_BYTES, type PageRead } from './pages.ts';
