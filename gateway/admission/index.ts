export { DEFAULT_GATE_LIMITS, type GateLimits, ModelGate } from './model-gate.ts';
