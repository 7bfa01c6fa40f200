export {
  type CanaryState,
  type CanaryVerdict,
  canaryVerdict,
  type VersionFigures,
} from './canary-verdict.ts';
export { chooseVersion, splitModelName, type VersionChoice } from './choose-version.ts';
export { canaryOf, promote, rollback, rollout, withDeclaredRollout } from './rollout-steps.ts';
export { effectiveTraffic, stickyPoint, versionAt } from './traffic-split.ts';
export { VersionStats } from './version-stats.ts';
export { judgeCanary, type RolloutWatchOptions, startRolloutWatch } from './rollout-watch.ts';
