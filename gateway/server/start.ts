import type { AdminOperations } from '../admin/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { serve } from '@hono/node-server';
import { createTelemetry, type Telemetry } from '../../runtime/telemetry/index.ts';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import type { GateLimits } from '../admission/index.ts';
import {
  createDeploymentStore,
  DeploymentRegistry,
  type DeploymentSpec,
  type DeploymentStore,
} from '../deployments/index.ts';
import { createHistoryStore, type HistoryStore } from '../request-history/index.ts';
import { createSequencePins, RedisSessionShare } from '../routing/index.ts';
import { withDeclaredRollout } from '../rollouts/index.ts';
import { InstanceTable } from '../instances/index.ts';
import type { RouterOptions, RoutingPolicy } from '../routing/index.ts';
import type { InputLimits } from '../openai/index.ts';
import type { ModelTextsOptions } from '../model-text/index.ts';
import { openAuthBackend } from '../auth/index.ts';
import { createVersionStats, type VersionStats } from '../rollouts/index.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { answerParserErrors, DEFAULT_MAX_HEADER_BYTES } from '../http/request-header.ts';

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
  /** With Redis: how often deployments other replicas wrote are picked up. Default 1000 ms. */
  readonly deploymentsResyncMs?: number;
  /** Default: in Redis when redisUrl is set, else in memory. */
  readonly history?: HistoryStore;
  /** Version figures; default: shared by the replicas in Redis when redisUrl is set, else this gateway's. */
  readonly versionStats?: VersionStats;
  readonly limits?: Partial<GateLimits>;
  readonly bodyLimitBytes?: number;
  readonly inputLimits?: InputLimits;
  /** How imported models' tokenizers are fetched and kept (each on a worker thread). */
  readonly modelText?: ModelTextsOptions;
  readonly recordContent?: boolean;
  /** Largest request head (request line and headers); larger ones get 431. Default 16 KiB, node's. */
  readonly maxHeaderBytes?: number;
  /** Bearer token of the admin API; without one the admin API refuses every request. */
  readonly adminToken?: string;
  /** Whether the public API requires API keys. Default 'off'. */
  readonly apiKeys?: 'required' | 'off';
  /** Without Redis: where API keys persist. Default: api-keys.json beside the deployments file. */
  readonly apiKeysFile?: string;
  readonly pollIntervalMs?: number;
  /** Longest silence of an instance on a request before upstream_timeout (504). Default 60 s. */
  readonly upstreamIdleTimeoutMs?: number;
  readonly onWait?: (model: string) => void;
  readonly operations?: AdminOperations;
  /** The gateway's time: its gates, stores, limiter and instance polls. Default systemClock. */
  readonly clock?: Clock;
}

export interface RunningGateway {
  readonly url: string;
  readonly gateway: Gateway;
  readonly deployments: DeploymentRegistry;
  close(): Promise<void>;
}

/** Starts a gateway listening on HTTP, with its stores and telemetry; close() releases all of it. */
export async function startGateway(o: StartGatewayOptions = {}): Promise<RunningGateway> {
  const clock = o.clock ?? systemClock;
  const tmp = o.redisUrl || o.deploymentsFile ? null : await mkdtemp(join(tmpdir(), 'warmgate-'));
  const store: DeploymentStore = createDeploymentStore({
    redisUrl: o.redisUrl,
    file: o.deploymentsFile ?? join(tmp ?? '.', 'deployments.json'),
  });
  const deployments = await DeploymentRegistry.open(store);
  // A canary given in a deployment at start counts from now (its history says so), as one put through the admin API does.
  for (const spec of o.deployments ?? [])
    await deployments.put(withDeclaredRollout(deployments.get(spec.name), spec, clock.now()));
  // A shared store is written by every replica: follow it, so a deployment made anywhere is served here.
  const unfollow = o.redisUrl ? deployments.follow(o.deploymentsResyncMs ?? 1000) : null;
  const ownTelemetry = o.telemetry
    ? null
    : createTelemetry({ serviceName: 'warmgate-gateway', otlpEndpoint: o.otlpEndpoint });
  const telemetry = o.telemetry ?? ownTelemetry!;
  const deploymentsFile = o.deploymentsFile ?? join(tmp ?? '.', 'deployments.json');
  const auth = await openAuthBackend({
    redisUrl: o.redisUrl,
    file: o.apiKeysFile ?? join(dirname(deploymentsFile), 'api-keys.json'),
    follow: o.apiKeys === 'required',
    meter: telemetry.meter,
    clock,
  });
  const gateway = createGateway({
    deployments,
    telemetry,
    registry: new InstanceTable({
      pollIntervalMs: o.pollIntervalMs,
      upstreamIdleTimeoutMs: o.upstreamIdleTimeoutMs,
      clock,
    }),
    history: o.history ?? createHistoryStore({ redisUrl: o.redisUrl, clock }),
    sequences: createSequencePins({ redisUrl: o.redisUrl, clock }),
    ...(o.redisUrl && { sessionShare: new RedisSessionShare({ url: o.redisUrl }) }),
    versionStats: o.versionStats ?? createVersionStats({ redisUrl: o.redisUrl, clock }),
    routing: typeof o.routing === 'string' ? { policy: o.routing } : o.routing,
    limits: o.limits,
    bodyLimitBytes: o.bodyLimitBytes,
    inputLimits: o.inputLimits,
    modelText: o.modelText,
    recordContent: o.recordContent,
    adminToken: o.adminToken,
    apiKeys: o.apiKeys,
    keys: auth.keys,
    limiter: auth.limiter,
    onWait: o.onWait,
    operations: o.operations,
    clock,
  });
  for (const i of o.instances ?? []) await gateway.registry.add(i.deployment, i.url);
  const server = serve({
    fetch: gateway.app.fetch,
    hostname: o.host ?? '127.0.0.1',
    port: o.port ?? 8080,
    serverOptions: { maxHeaderSize: o.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES },
  });
  answerParserErrors(server);
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
      unfollow?.();
      await gateway.close();
      await auth.close();
      await store.close();
      await ownTelemetry?.shutdown();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    },
  };
}
