import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { checkDeployment, type DeploymentRegistry, type DeploymentSpec } from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import type { KeyStore } from '../auth/index.ts';
import { bearerToken } from './bearer-token.ts';
import type { ControllerTimeline } from './controller-timeline.ts';
import { keyRoutes } from './key-routes.ts';
import { rolloutRoutes, type RolloutView } from './rollout-routes.ts';
import { withDeclaredRollout } from '../rollouts/index.ts';
import { lineCount } from './line-count.ts';
import { sinceMs } from './since-ms.ts';
import { limitBody } from '../http/limit-body.ts';
import { readJson } from '../http/read-body.ts';

export interface AdminOptions {
  /**
   * Every request must send `Authorization: Bearer <token>`. Without one the admin API is closed: every
   * request answers 403 admin_token_not_configured (it is never open).
   */
  token?: string;
  /** API keys, served at /keys. */
  keys?: KeyStore;
  /** Largest body accepted. Default 1 MiB. */
  maxBodyBytes?: number;
  /** What the warm-pool controller reports, when one runs with this gateway. */
  operations?: AdminOperations;
  /** Per-version figures and readiness for the rollout routes; without them those routes are absent. */
  rollouts?: RolloutView;
  /** The status page's summary (gateway/status-page), served as JSON at /status for `warmgate status`. */
  status?: (query: URLSearchParams) => Promise<object>;
}

/** The warm-pool controller's view, for GET /instances and GET /decisions. */
export interface AdminOperations {
  /** Each deployment's pool: instances with their states and cold-start phases. */
  instances(): unknown[];
  /** Recent scaling decisions with their reasons, oldest first. */
  decisions(deployment?: string): unknown[];
  /**
   * An instance's recent output lines (the last `lines`, all kept by default), as
   * `{ instance, kept, lines: [{ seq, at, stream, text }] }`; undefined when no such instance is known.
   */
  logs?(instance: string, lines?: number): object | undefined;
  /** Whether this replica's controller leads (several gateways on one Redis elect one). */
  controller?(): { leading: boolean; holderId: string; token?: number };
  /**
   * A deployment's forecast, instances kept warm and cold starts from `sinceMs` on (the status page's
   * plots); undefined when the controller knows no such deployment.
   */
  timeline?(deployment: string, sinceMs: number): ControllerTimeline | undefined;
}

/**
 * The admin API over the deployment registry, mounted by the gateway at /admin/v1. Handlers throw
 * ApiError; the app that mounts these routes answers them (apiErrorHandler('openai')).
 */
export function adminRoutes(registry: DeploymentRegistry, options: AdminOptions = {}): Hono {
  const app = new Hono();
  app.use('*', options.token !== undefined ? bearerToken(options.token) : closed);
  app.use('*', limitBody(options.maxBodyBytes ?? 1 << 20));
  const now = () => options.rollouts?.now() ?? Date.now();

  if (options.keys) app.route('/keys', keyRoutes(options.keys));
  app.get('/deployments', (c) => c.json({ deployments: registry.list() }));

  app.get('/instances', (c) => c.json({ pools: options.operations?.instances() ?? [] }));
  app.get('/instances/:id/logs', (c) => {
    const id = c.req.param('id');
    const found = options.operations?.logs?.(id, lineCount(c.req.query('lines')));
    if (found === undefined) throw new ApiError('instance_not_found', `no instance with id '${id}'`);
    return c.json(found);
  });
  app.get('/controller', (c) =>
    c.json(options.operations?.controller?.() ?? { leading: false, holderId: null }),
  );
  app.get('/decisions', (c) =>
    c.json({ decisions: options.operations?.decisions(c.req.query('deployment')) ?? [] }),
  );

  app.get('/timeline', (c) => {
    const deployment = c.req.query('deployment');
    if (!deployment) throw new ApiError('invalid_request', 'name the deployment: /timeline?deployment=NAME');
    const since = sinceMs(c.req.query('since'));
    const found = options.operations?.timeline?.(deployment, since);
    if (found === undefined) throw notFound(deployment);
    return c.json(found);
  });
  if (options.status) {
    const status = options.status;
    app.get('/status', async (c) => c.json(await status(new URL(c.req.url).searchParams)));
  }

  app.get('/deployments/:name', (c) => c.json(existing(registry, c.req.param('name'))));

  app.post('/deployments', async (c) => {
    const spec = withDeclaredRollout(undefined, checkDeployment(await readJson(c)), now());
    await registry.create(spec);
    const path = `${c.req.path.replace(/\/+$/, '')}/${encodeURIComponent(spec.name)}`;
    return c.json(registry.get(spec.name) ?? spec, 201, { Location: path });
  });

  app.put('/deployments/:name', async (c) => {
    const name = c.req.param('name');
    const previous = registry.get(name);
    const received = keepHistory(previous, checkDeployment(namedBy(name, await readJson(c))));
    const spec = withDeclaredRollout(previous, received, now());
    const { created } = await registry.put(spec);
    const saved = registry.get(name) ?? spec;
    return created ? c.json(saved, 201, { Location: c.req.path }) : c.json(saved, 200);
  });

  app.delete('/deployments/:name', async (c) => {
    const name = c.req.param('name');
    if (!(await registry.delete(name))) throw notFound(name);
    return c.body(null, 204);
  });

  if (options.rollouts) app.route('/deployments', rolloutRoutes(registry, options.rollouts));

  app.all('/deployments', methodNotAllowed('GET, POST'));
  app.all('/deployments/:name', methodNotAllowed('GET, PUT, DELETE'));
  return app;
}

const closed: MiddlewareHandler = () => {
  throw new ApiError(
    'admin_token_not_configured',
    'the admin API is closed: start the gateway with WARMGATE_ADMIN_TOKEN set (adminToken) and send it as Authorization: Bearer',
  );
};

function existing(registry: DeploymentRegistry, name: string): DeploymentSpec {
  const spec = registry.get(name);
  if (spec === undefined) throw notFound(name);
  return spec;
}

function notFound(name: string): ApiError {
  return new ApiError('deployment_not_found', `no deployment named '${name}'`);
}

/** The path names the deployment; a body may repeat the name but not contradict it. */
function namedBy(name: string, body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body; // checkDeployment refuses it
  if ('name' in body && body.name !== name) {
    throw new ApiError(
      'deployment_invalid',
      `deployment field 'name' (${JSON.stringify(body.name)}) must match the path's '${name}' or be left out`,
      { param: 'name' },
    );
  }
  return { name, ...body };
}

/**
 * A deployment replaced from a file that carries no rollout history keeps the one it had: the story of
 * its versions (and which numbers are retired) outlives a redeploy.
 */
function keepHistory(previous: DeploymentSpec | undefined, spec: DeploymentSpec): DeploymentSpec {
  const history = previous?.rollout?.history;
  if (history === undefined || spec.rollout?.history !== undefined) return spec;
  return { ...spec, rollout: { ...spec.rollout, history } };
}

function methodNotAllowed(allow: string) {
  return (c: Context): never => {
    c.header('Allow', allow);
    throw new ApiError('method_not_allowed', `${c.req.method} ${c.req.path} is not allowed; use ${allow}`);
  };
}
