export { DEFAULT_GATE_LIMITS, type GateLimits, ModelGate } from './model-gate.ts';
export { FirstTokenWindow } from './first-token-window.ts';
