export { LeaderElector, type LeaderElectorOptions, type LostReason } from './leader-elector.ts';
export { RedisLease, type Lease, type LeaseInfo, type RedisLeaseOptions } from './redis-lease.ts';
export { realTimers, type Timers } from './timers.ts';
