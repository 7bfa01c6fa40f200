export { Controller, type ControllerOptions, type Decision, type Demand } from './controller.ts';
export { LeadingController } from './leading-controller.ts';
export {
  startControllerLoop,
  type ControllerLoop,
  type ControllerLoopOptions,
  type Tickable,
} from './loop.ts';
