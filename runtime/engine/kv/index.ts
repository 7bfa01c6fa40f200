export { type BlockHash, hashBlock, hashFullBlocks } from './block-hash.ts';
export {
  type AllocationResult,
  type BlockCopy,
  type CachedPrefix,
  type KVCacheConfig,
  KVCacheManager,
  type KVCacheStats,
} from './kv-cache-manager.ts';
