export { contextFromHeaders, traceHeaders } from './propagation.ts';
export { createTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.ts';
