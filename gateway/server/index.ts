export type { GatewayContext } from './context.ts';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.ts';
export { type RunningGateway, startGateway, type StartGatewayOptions } from './start.ts';
