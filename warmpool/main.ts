/**
 * The warm-pool controller process (one of the image's three commands; see infra/):
 *
 *   REDIS_URL=redis://... WARMGATE_PROVIDER=kubernetes WARMGATE_RUNTIME_IMAGE=... node dist/warmpool/main.js
 *
 * Reads deployments and request history from Redis, keeps each deployment's pool of runtime instances at
 * its policy's target (one replica leads, through a Redis lease), and publishes ready instances for the
 * gateways. Its environment is warmpool/config/controller-environment.ts. SIGTERM drains its instances.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { hostname } from 'node:os';
import { readEnvironment } from '../gateway/config/environment.ts';
import { createDeploymentStore, DeploymentRegistry } from '../gateway/deployments/index.ts';
import { createTelemetry } from '../runtime/telemetry/index.ts';
import { CONTROLLER_ENVIRONMENT } from './config/controller-environment.ts';
import { DemandBoard } from '../gateway/demand-board/index.ts';
import { createSharedRegistry, RedisSharedRegistry } from '../gateway/shared-instance-registry/index.ts';
import { controllerMetrics, createControllerApp } from './service/controller-app.ts';
import { type RunningControllerService, startControllerService } from './service/controller-service.ts';
import { providerFrom } from './service/provider-from-environment.ts';

const { values: env, unknown } = readEnvironment(CONTROLLER_ENVIRONMENT, process.env);
for (const name of unknown) console.warn(`warning: ${name} is not a controller variable; it is ignored`);
const redisUrl = env.REDIS_URL!;
const replicaId = env.WARMGATE_REPLICA_ID ?? `${hostname()}:${process.pid}`;
const telemetry = createTelemetry({
  serviceName: 'warmgate-controller',
  otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
});
const store = createDeploymentStore({ redisUrl, file: '' });
const deployments = await DeploymentRegistry.open(store);
const unfollow = deployments.follow(1000);
const shared = createSharedRegistry({ redisUrl });
if (shared instanceof RedisSharedRegistry) await shared.connected();
let service: RunningControllerService | null = null;
const board = new DemandBoard({ redisUrl, replicaId, onRemoteWait: () => service?.kick() });
service = startControllerService({
  deployments: () => deployments.list(),
  provider: providerFrom(env),
  shared,
  redisUrl,
  board,
  tickMs: env.WARMGATE_TICK_MS,
  drainTimeoutMs: env.WARMGATE_DRAIN_TIMEOUT_MS,
  scaleToZero: env.WARMGATE_SCALE_TO_ZERO,
  leaseTtlMs: env.WARMGATE_LEASE_TTL_MS,
  replicaId,
  policy: env.WARMGATE_POLICY as 'predictive' | undefined,
  unresponsiveLimit: env.WARMGATE_UNRESPONSIVE_LIMIT,
});
const running = service;
let stopping = false;
controllerMetrics(telemetry, running.controller, () => running.status());
const app = createControllerApp({
  controller: running.controller,
  status: () => running.status(),
  telemetry,
  ready: () => !stopping,
  adminToken: env.WARMGATE_ADMIN_TOKEN,
});
const server = serve({ fetch: app.fetch, hostname: env.HOST, port: env.PORT });
await new Promise<void>((resolve, reject) => {
  server.once('listening', () => resolve());
  server.once('error', reject);
});
console.log(
  `warm-pool controller ${replicaId} on port ${(server.address() as AddressInfo).port} (provider ${env.WARMGATE_PROVIDER})`,
);

const stop = async () => {
  if (stopping) return;
  stopping = true;
  // Runtime pods outlive a controller replica (the next leader adopts them); local processes do not.
  await running.close({ leaveInstances: env.WARMGATE_PROVIDER === 'kubernetes' });
  unfollow();
  await board.close();
  await shared.close();
  await store.close();
  await new Promise<void>((r) => server.close(() => r()));
  await telemetry.shutdown();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
