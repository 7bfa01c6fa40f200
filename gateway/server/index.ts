export type { GatewayContext } from '../dispatch/context.ts';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.ts';
export { type RunningGateway, startGateway, type StartGatewayOptions } from './start.ts';
export { type GatewayReplicaOptions, type RunningGatewayReplica, startGatewayReplica } from './replica.ts';
