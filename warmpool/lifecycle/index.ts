export { followTimings, type StartTimings } from './follow-timings.ts';
export {
  InstanceLifecycle,
  type InstanceState,
  type PhaseDurations,
  type Transition,
} from './instance-lifecycle.ts';
