import { Hono } from 'hono';
import {
  CANARY_ANALYSIS_DEFAULTS,
  declaredTraffic,
  type DeploymentRegistry,
  type DeploymentSpec,
  versionDeployment,
  versionNumbers,
  versionPool,
} from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import { readJson } from '../http/read-body.ts';
import {
  effectiveTraffic,
  judgeCanary,
  promote,
  rollback,
  rollout,
  type VersionStats,
} from '../rollouts/index.ts';

/** What the rollout routes read besides the deployments. */
export interface RolloutView {
  readonly stats: VersionStats;
  readonly ready: (pool: string) => boolean;
  readonly now: () => number;
}

/**
 * A deployment's versions: GET .../rollout (the split declared and in force, per-version figures, the
 * canary's verdict, the history), POST .../rollout { to, weight }, .../promote { to? }, .../rollback.
 * Mounted at /deployments/:name.
 */
export function rolloutRoutes(registry: DeploymentRegistry, view: RolloutView): Hono {
  const app = new Hono();
  const spec = (name: string) => {
    const d = registry.get(name);
    if (d === undefined) throw new ApiError('deployment_not_found', `no deployment named '${name}'`);
    return notAdapter(d);
  };
  // Applied to the deployment as the store holds it when written: a step another gateway took meanwhile
  // is built on, not overwritten.
  const step = async (name: string, change: (d: DeploymentSpec, now: number) => DeploymentSpec) => {
    spec(name);
    const next = await registry.update(name, (d) => change(notAdapter(d), view.now()));
    return await describe(next, view);
  };

  app.get('/:name/rollout', async (c) => c.json(await describe(spec(c.req.param('name')), view)));
  app.post('/:name/rollout', async (c) => {
    const body = object(await readJson(c));
    return c.json(
      await step(c.req.param('name'), (d, now) =>
        rollout(d, integer(body.to, 'to'), integer(body.weight, 'weight'), now),
      ),
    );
  });
  app.post('/:name/promote', async (c) => {
    const body = object((await c.req.text()) ? await readJson(c) : {});
    const to = body.to === undefined ? undefined : integer(body.to, 'to');
    return c.json(await step(c.req.param('name'), (d, now) => promote(d, now, to)));
  });
  app.post('/:name/rollback', async (c) => {
    return c.json(await step(c.req.param('name'), (d, now) => rollback(d, now, 'by hand')));
  });
  return app;
}

/**
 * The rollout as GET .../rollout answers it, with every replica's figures (brought in first); `shared`
 * false: they are this gateway replica's alone (one gateway, or Redis away).
 */
async function describe(d: DeploymentSpec, view: RolloutView) {
  const now = view.now();
  const analysis = { ...CANARY_ANALYSIS_DEFAULTS, ...d.rollout?.analysis };
  const pools = versionNumbers(d).map((v) => versionPool(d.name, v));
  await view.stats.refresh(pools, now, analysis.windowMs);
  const declared = declaredTraffic(d);
  const inForce = effectiveTraffic(d, (v) => view.ready(versionPool(d.name, v)));
  return {
    name: d.name,
    stable: d.version ?? 1,
    traffic: declared,
    effective: inForce,
    versions: versionNumbers(d).map((v) => {
      const pool = versionPool(d.name, v);
      return {
        version: v,
        pool,
        model: versionDeployment(d, v).model,
        weight: declared.find((t) => t.version === v)?.weight ?? 0,
        effectiveWeight: inForce.find((t) => t.version === v)?.weight ?? 0,
        ready: view.ready(pool),
        window: view.stats.figures(pool, now, analysis.windowMs),
        total: view.stats.totals(pool),
      };
    }),
    shared: view.stats.shared,
    analysis,
    verdict: judgeCanary(d, view.stats, view.ready, now),
    history: d.rollout?.history ?? [],
  };
}

function notAdapter(d: DeploymentSpec): DeploymentSpec {
  if (d.kind === 'adapter')
    throw new ApiError('invalid_request', `'${d.name}' is an adapter: roll out versions of its base`, {
      param: 'name',
    });
  return d;
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError('invalid_request', 'send a JSON object, e.g. { "to": 2, "weight": 20 }');
  return body as Record<string, unknown>;
}

function integer(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new ApiError('invalid_request', `'${field}' must be an integer`, { param: field });
  return value;
}
