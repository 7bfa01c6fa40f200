import { type Context, Hono } from 'hono';
import type { Telemetry } from '../../runtime/telemetry/index.ts';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { type AdminOperations, adminRoutes } from '../admin/index.ts';
import { DEFAULT_GATE_LIMITS, type GateLimits, ModelGate } from '../admission/index.ts';
import {
  createGatewayAuth,
  type KeyStore,
  type Limiter,
  MemoryKeyStore,
  MemoryLimiter,
} from '../auth/index.ts';
import {
  type DeploymentRegistry,
  servingName,
  servingPoolsOf,
  versionNumbers,
  versionPool,
} from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import { apiErrorHandler } from '../errors/on-error.ts';
import { functionRoutes } from '../functions/routes.ts';
import { createHistoryStore, type HistoryStore } from '../request-history/index.ts';
import { InstanceTable } from '../instances/index.ts';
import { ModelTexts, type ModelTextsOptions } from '../model-text/index.ts';
import { kserveRoutes } from '../kserve/routes.ts';
import type { InputLimits } from '../openai/index.ts';
import { openAIRoutes } from '../openai/routes.ts';
import {
  DEFAULT_ROUTING,
  MemorySequencePins,
  Router,
  type RouterOptions,
  type SequencePinStore,
  type SessionShare,
} from '../routing/index.ts';
import { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { MemoryVersionStats, startRolloutWatch, type VersionStats } from '../rollouts/index.ts';
import type { GatewayContext } from '../dispatch/context.ts';
import { limitBody } from '../http/limit-body.ts';
import { requestSpan } from '../http/request-span.ts';
import { untracedTracer } from './untraced.ts';
import { allowedMethods } from './wrong-method.ts';
import { gatherStatus, statusQuery, statusRoutes } from '../status-page/index.ts';

export interface GatewayOptions {
  readonly deployments: DeploymentRegistry;
  readonly telemetry: Telemetry;
  readonly registry?: InstanceTable;
  /** Default: the in-memory store. */
  readonly history?: HistoryStore;
  /** Conversations' last instances as the other replicas routed them. Default none; closed with the gateway. */
  readonly sessionShare?: SessionShare;
  /** Which instance holds each open sequence. Default: in memory (one replica); closed with the gateway. */
  readonly sequences?: SequencePinStore;
  /** Each version's requests, errors and TTFT for canaries and the admin API. Default: this gateway's. */
  readonly versionStats?: VersionStats;
  readonly routing?: Partial<RouterOptions>;
  readonly limits?: Partial<GateLimits>;
  /** Largest request body; larger ones get 413. */
  readonly bodyLimitBytes?: number;
  /** Limits on prompt tokens, max_tokens and n, on top of each model's; over one, 400. */
  readonly inputLimits?: InputLimits;
  /** Prompts and completions on the request spans. Default off. */
  readonly recordContent?: boolean;
  /** Bearer token the admin API requires; without one the admin API refuses every request. */
  readonly adminToken?: string;
  /** How imported models' tokenizers are fetched and kept (each on a worker thread). */
  readonly modelText?: ModelTextsOptions;
  /** Whether the public API (/v1, /v2) requires an API key. Default 'off'. */
  readonly apiKeys?: 'required' | 'off';
  /** Where API keys live (the admin API manages them whatever apiKeys says). Default: in memory. */
  readonly keys?: KeyStore;
  /** Per-key limits. Default: in this process. */
  readonly limiter?: Limiter;
  /** The warm-pool controller's reports, served on the admin API. */
  readonly operations?: AdminOperations;
  /** A request is waiting for a ready instance of the model: the warm-pool controller acts at once. */
  readonly onWait?: (model: string) => void;
  /**
   * What the gates, the default stores and limiter, and request stamps read time from (an instance
   * registry or history store passed in brings its own). Default systemClock.
   */
  readonly clock?: Clock;
}

export interface Gateway {
  readonly app: Hono;
  readonly context: GatewayContext;
  readonly registry: InstanceTable;
  /** /ready answers 503 from now on, so load balancers stop sending before the server closes. */
  stopAccepting(): void;
  close(): Promise<void>;
}

/** The gateway: every public route, wired to deployments, instances, routing, admission and telemetry. */
export function createGateway(o: GatewayOptions): Gateway {
  const clock = o.clock ?? systemClock;
  const registry = o.registry ?? new InstanceTable({ clock });
  const ownHistory = o.history ?? createHistoryStore({ clock });
  const sequences = o.sequences ?? new MemorySequencePins(clock);
  const keys = o.keys ?? MemoryKeyStore.inMemory({ clock });
  // Keys off: nothing of auth is on the request path.
  const auth =
    o.apiKeys === 'required'
      ? createGatewayAuth({
          keys,
          limiter: o.limiter ?? new MemoryLimiter({ clock }),
          deployments: o.deployments,
          meter: o.telemetry.meter,
        })
      : null;
  const history = auth ? auth.meterHistory(ownHistory) : ownHistory;
  const routerOptions: RouterOptions = { ...DEFAULT_ROUTING, blockTokens: 16, maxBlocks: 64, ...o.routing };
  const router = new Router(registry, routerOptions, o.sessionShare ?? null);
  const limits = { ...DEFAULT_GATE_LIMITS, ...o.limits };
  const gates = new Map<string, ModelGate>();
  const firstSeen = new Map<string, number>();
  // One gate per pool of instances: an adapter's requests queue for its base's instances, and count
  // against its base's concurrency, with the base's own requests.
  const ungated = (model: string, chosen?: string) => {
    const spec = chosen === undefined ? o.deployments.get(model) : undefined;
    const pool = chosen ?? (spec === undefined ? model : servingName(spec));
    let g = gates.get(pool);
    if (!g) gates.set(pool, (g = new ModelGate(pool, limits, (m) => o.onWait?.(m), clock)));
    return g;
  };
  const gate = auth ? auth.guardGate(ungated) : ungated;
  registry.on('ready', (inst) => ungated(inst.deployment).wakeAll());
  const metrics = new GatewayMetrics(o.telemetry.meter, {
    inFlight: () =>
      [...gates.values()].map((g) => [g.model, g.inFlight, g.queued] as [string, number, number]),
    readyInstances: () =>
      o.deployments.list().map((d) => {
        const pools = servingPoolsOf(d, (name) => o.deployments.get(name));
        return [d.name, pools.reduce((n, p) => n + registry.routable(p).length, 0)] as [string, number];
      }),
  });
  const versionStats = o.versionStats ?? new MemoryVersionStats();
  // A version removed takes its figures with it: what is kept does not grow with versions over time.
  const unwatchVersions = o.deployments.onChange(() =>
    versionStats.keepOnly(
      new Set(
        o.deployments
          .list()
          .filter((d) => d.kind !== 'adapter')
          .flatMap((d) => versionNumbers(d).map((v) => versionPool(d.name, v))),
      ),
    ),
  );
  const ready = (pool: string) => registry.routable(pool).length > 0;
  // Every replica judges the canaries, each from the figures of all (with shared version stats).
  const stopWatch = startRolloutWatch({
    deployments: o.deployments,
    stats: versionStats,
    ready,
    clock,
    log: (m) => console.error(m),
  });
  const ctx: GatewayContext = {
    deployments: o.deployments,
    registry,
    router,
    texts: new ModelTexts(registry, o.deployments, o.modelText),
    tracer: o.telemetry.tracing ? o.telemetry.tracer : untracedTracer(o.telemetry.tracer),
    history,
    metrics,
    onRetry: (model) => metrics.retried(model),
    gate,
    clock,
    sequences,
    versionStats,
    createdAt: (model) => {
      if (!firstSeen.has(model)) firstSeen.set(model, Math.floor(clock.now() / 1000));
      return firstSeen.get(model)!;
    },
  };

  const app = new Hono();
  app.use('*', requestSpan(o.telemetry.tracer, metrics, o.telemetry.tracing));
  app.use('*', limitBody(o.bodyLimitBytes ?? 4 * 2 ** 20));
  // Liveness: the process answers. Readiness: it takes traffic (not once it has begun to shut down).
  let accepting = true;
  app.get('/live', (c) => c.json({ status: 'live' }));
  app.get('/ready', (c) =>
    accepting ? c.json({ status: 'ready' }) : c.json({ status: 'shutting-down' }, 503),
  );
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async (c) =>
    c.text(await o.telemetry.metricsText(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );
  if (auth) {
    app.use('/v1/*', auth.middleware);
    app.use('/v2/*', auth.middleware);
  }
  const policy = { limits: o.inputLimits, recordContent: o.recordContent };
  app.route('/v1', openAIRoutes(ctx, policy));
  app.route('/v1/functions', functionRoutes(ctx, policy));
  app.route('/v2', kserveRoutes(ctx));
  const status = (params: URLSearchParams) =>
    gatherStatus(
      {
        deployments: o.deployments,
        registry,
        history,
        operations: o.operations,
        latency: (model) => metrics.recentLatency(model),
        keys,
        ...(auth && { keyUsage: auth.usage, limiter: auth.limiter }),
      },
      statusQuery(params),
      clock.now(),
    );
  app.route(
    '/admin/v1',
    adminRoutes(o.deployments, {
      token: o.adminToken,
      operations: o.operations,
      keys,
      status,
      rollouts: { stats: versionStats, ready, now: () => clock.now() },
    }),
  );
  app.route('/status', statusRoutes({ token: o.adminToken, gather: status }));
  const onError = (err: Error, c: Context) =>
    apiErrorHandler(c.req.path.startsWith('/v2/') ? 'kserve' : 'openai')(err, c);
  const allowAt = allowedMethods(app);
  app.notFound((c) => {
    const allow = allowAt(c.req.path);
    if (allow === null) {
      return onError(
        new ApiError(
          'route_not_found',
          `no route ${c.req.method} ${c.req.path}: see the API routes in the README`,
        ),
        c,
      );
    }
    c.header('Allow', allow);
    const message = `${c.req.method} ${c.req.path} is not allowed; use ${allow}`;
    return onError(new ApiError('method_not_allowed', message), c);
  });
  app.onError(onError);

  return {
    app,
    context: ctx,
    registry,
    stopAccepting() {
      accepting = false;
    },
    async close() {
      accepting = false;
      stopWatch();
      unwatchVersions();
      await registry.close();
      // The tokenizer workers are unref'd, but a closed gateway leaves no thread behind.
      await ctx.texts.close();
      await ownHistory.close();
      await sequences.close();
      await o.sessionShare?.close();
      await versionStats.close();
    },
  };
}
