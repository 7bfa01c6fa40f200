export { backoffMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';
export {
  describeExit,
  WarmPool,
  type PoolFailure,
  type PoolInstanceStatus,
  type WarmPoolHooks,
  type WarmPoolOptions,
  type WarmPoolStatus,
} from './warm-pool.ts';
