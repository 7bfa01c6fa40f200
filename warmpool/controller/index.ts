export { Controller, type ControllerOptions, type Decision, type InstanceLogs } from './controller.ts';
export {
  decide,
  type DeciderConfig,
  type DeciderState,
  initialDeciderState,
  type Observations,
  type ScalingDecision,
} from './decide.ts';
export { type Demand, gatewayDemand, perInstance } from './demand.ts';
export { LeadingController } from './leading-controller.ts';
export {
  startControllerLoop,
  type ControllerLoop,
  type ControllerLoopOptions,
  type Tickable,
} from './loop.ts';
