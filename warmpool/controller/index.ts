export { Controller, type ControllerOptions, type Decision, type Demand } from './controller.ts';
export { startControllerLoop, type ControllerLoop, type ControllerLoopOptions } from './loop.ts';
