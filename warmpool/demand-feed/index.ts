export { MemoryDemandFeed, type MemoryDemandFeedOptions } from './memory-feed.ts';
export { RedisDemandFeed, type RedisDemandFeedOptions } from './redis-feed.ts';
export type { DemandFeed, DemandFeedOptions, FeedFailure, FeedTarget, FeedUpdate } from './types.ts';
