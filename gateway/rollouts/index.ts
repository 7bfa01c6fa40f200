export {
  type CanaryState,
  type CanaryVerdict,
  canaryVerdict,
  type VersionFigures,
} from './canary-verdict.ts';
export { chooseVersion, splitModelName, type VersionChoice } from './choose-version.ts';
export { canaryOf, promote, rollback, rollout, withDeclaredRollout } from './rollout-steps.ts';
export { effectiveTraffic, stickyPoint, versionAt } from './traffic-split.ts';
export type { VersionStats, VersionTotals } from './version-stats.ts';
export { MemoryVersionStats } from './memory-version-stats.ts';
export { RedisVersionStats, type RedisVersionStatsOptions } from './redis-version-stats.ts';
export { createVersionStats, type VersionStatsOptions } from './create-version-stats.ts';
export { TTFT_BUCKET_RATIO } from './ttft-buckets.ts';
export { judgeCanary, type RolloutWatchOptions, startRolloutWatch } from './rollout-watch.ts';
