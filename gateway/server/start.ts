import type { AdminOperations } from '../admin/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createTelemetry, type Telemetry } from '../../runtime/telemetry/index.ts';
import type { GateLimits } from '../admission/index.ts';
import {
  createDeploymentStore,
  DeploymentRegistry,
  type DeploymentSpec,
  type DeploymentStore,
} from '../deployments/index.ts';
import { createHistoryStore, type HistoryStore } from '../history/index.ts';
import { InstanceRegistry } from '../instances/index.ts';
import type { RouterOptions, RoutingPolicy } from '../routing/index.ts';
import { createGateway, type Gateway } from './gateway.ts';

export interface StartGatewayOptions {
  readonly port?: number;
  readonly host?: string;
  readonly routing?: RoutingPolicy | Partial<RouterOptions>;
  /** Instances already started elsewhere, added to the instance registry. */
  readonly instances?: readonly { deployment: string; url: string }[];
  /** Deployments put into the store at start (created or replaced). */
  readonly deployments?: readonly DeploymentSpec[];
  /** Default: a fresh one named warmgate-gateway, exporting over OTLP when otlpEndpoint is set. */
  readonly telemetry?: Telemetry;
  readonly otlpEndpoint?: string;
  /** Deployments persist in Redis when set, else in deploymentsFile (else a temporary file). */
  readonly redisUrl?: string;
  readonly deploymentsFile?: string;
  /** Default: in Redis when redisUrl is set, else in memory. */
  readonly history?: HistoryStore;
  readonly limits?: Partial<GateLimits>;
  readonly bodyLimitBytes?: number;
  readonly adminToken?: string;
  readonly pollIntervalMs?: number;
  readonly onWait?: (model: string) => void;
  readonly operations?: AdminOperations;
}

export interface RunningGateway {
  readonly url: string;
  readonly gateway: Gateway;
  readonly deployments: DeploymentRegistry;
  close(): Promise<void>;
}

/** Starts a gateway listening on HTTP, with its stores and telemetry; close() releases all of it. */
export async function startGateway(o: StartGatewayOptions = {}): Promise<RunningGateway> {
  const tmp = o.redisUrl || o.deploymentsFile ? null : await mkdtemp(join(tmpdir(), 'warmgate-'));
  const store: DeploymentStore = createDeploymentStore({
    redisUrl: o.redisUrl,
    file: o.deploymentsFile ?? join(tmp ?? '.', 'deployments.json'),
  });
  const deployments = await DeploymentRegistry.open(store);
  for (const spec of o.deployments ?? []) await deployments.put(spec);
  const ownTelemetry = o.telemetry
    ? null
    : createTelemetry({ serviceName: 'warmgate-gateway', otlpEndpoint: o.otlpEndpoint });
  const telemetry = o.telemetry ?? ownTelemetry!;
  const gateway = createGateway({
    deployments,
    telemetry,
    registry: new InstanceRegistry({ pollIntervalMs: o.pollIntervalMs }),
    history: o.history ?? createHistoryStore({ redisUrl: o.redisUrl }),
    routing: typeof o.routing === 'string' ? { policy: o.routing } : o.routing,
    limits: o.limits,
    bodyLimitBytes: o.bodyLimitBytes,
    adminToken: o.adminToken,
    onWait: o.onWait,
    operations: o.operations,
  });
  for (const i of o.instances ?? []) await gateway.registry.add(i.deployment, i.url);
  const server = serve({ fetch: gateway.app.fetch, hostname: o.host ?? '127.0.0.1', port: o.port ?? 8080 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    gateway,
    deployments,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await gateway.close();
      await store.close();
      await ownTelemetry?.shutdown();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    },
  };
}
