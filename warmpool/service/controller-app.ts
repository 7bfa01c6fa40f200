import { Hono } from 'hono';
import type { Telemetry } from '../../runtime/telemetry/index.ts';
import { bearerToken } from '../../gateway/admin/bearer-token.ts';
import { lineCount } from '../../gateway/admin/line-count.ts';
import { sinceMs } from '../../gateway/admin/since-ms.ts';
import { ApiError } from '../../gateway/errors/index.ts';
import { apiErrorHandler } from '../../gateway/errors/on-error.ts';
import type { Controller } from '../controller/index.ts';
import type { ControllerStatus } from './controller-service.ts';

export interface ControllerAppOptions {
  readonly controller: Controller;
  readonly status: () => ControllerStatus;
  readonly telemetry: Telemetry;
  /** Ready: the shared state was read and the loop runs (not once shutdown began). */
  readonly ready: () => boolean;
  /** Bearer token for /admin/v1; without one the status routes answer 403 (never open). */
  readonly adminToken?: string;
}

/**
 * The controller process's HTTP surface: probes, Prometheus metrics, and its read-only status (whether this
 * replica leads, its pools, its recent decisions) for the CLI and operators.
 */
export function createControllerApp(o: ControllerAppOptions): Hono {
  const app = new Hono();
  app.get('/live', (c) => c.json({ status: 'live' }));
  app.get('/ready', (c) => (o.ready() ? c.json({ status: 'ready' }) : c.json({ status: 'not-ready' }, 503)));
  app.get('/metrics', async (c) =>
    c.text(await o.telemetry.metricsText(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );
  const admin = new Hono();
  admin.use(
    '*',
    o.adminToken
      ? bearerToken(o.adminToken)
      : () => {
          throw new ApiError('unauthorized', 'the admin API needs a credential: set WARMGATE_ADMIN_TOKEN');
        },
  );
  admin.get('/controller', (c) => c.json(o.status()));
  admin.get('/instances', (c) => c.json({ pools: o.controller.status() }));
  admin.get('/instances/:id/logs', (c) => {
    const id = c.req.param('id');
    const found = o.controller.logs(id, lineCount(c.req.query('lines')));
    if (found === undefined) throw new ApiError('instance_not_found', `no instance with id '${id}'`);
    return c.json(found);
  });
  admin.get('/timeline', (c) => {
    const deployment = c.req.query('deployment') ?? '';
    const found = o.controller.timeline(deployment, sinceMs(c.req.query('since')));
    if (found === undefined)
      throw new ApiError('deployment_not_found', `no deployment named '${deployment}'`);
    return c.json(found);
  });
  admin.get('/decisions', (c) => c.json({ decisions: o.controller.decisions(c.req.query('deployment')) }));
  app.route('/admin/v1', admin);
  const onError = apiErrorHandler('openai');
  app.notFound((c) =>
    onError(new ApiError('route_not_found', `no route ${c.req.method} ${c.req.path} on the controller`), c),
  );
  app.onError(onError);
  return app;
}

/** Gauges of the controller: whether this replica leads, and its pools' instances by state. */
export function controllerMetrics(
  telemetry: Telemetry,
  controller: Controller,
  status: () => ControllerStatus,
): void {
  const m = telemetry.meter;
  m.createObservableGauge('warmgate_controller_leading', {
    description: '1 while this controller replica leads, else 0',
  }).addCallback((r) => r.observe(status().leading ? 1 : 0));
  m.createObservableGauge('warmgate_pool_instances', {
    description: 'Instances of each deployment by lifecycle state',
  }).addCallback((r) => {
    for (const pool of controller.status()) {
      const byState = new Map<string, number>();
      for (const i of pool.instances) byState.set(i.state, (byState.get(i.state) ?? 0) + 1);
      for (const [state, n] of byState) r.observe(n, { deployment: pool.deployment, state });
    }
  });
  m.createObservableGauge('warmgate_pool_desired_instances', {
    description: 'Instances each pool is scaling to',
  }).addCallback((r) => {
    for (const pool of controller.status()) r.observe(pool.desired, { deployment: pool.deployment });
  });
  m.createObservableGauge('warmgate_controller_forecast_arrivals_per_minute', {
    description: "Arrivals a minute the controller's demand forecast expects now, by deployment",
  }).addCallback((r) => {
    for (const f of controller.forecastsAndColdStarts())
      if (f.forecastPerMin !== null) r.observe(f.forecastPerMin, { deployment: f.deployment });
  });
  // Exported as warmgate_controller_cold_starts_total: counted as each instance this controller started
  // first becomes ready.
  m.createObservableCounter('warmgate_controller_cold_starts', {
    description: 'Instances started by this controller that became ready (cold starts), by deployment',
  }).addCallback((r) => {
    for (const f of controller.forecastsAndColdStarts())
      r.observe(f.coldStarts, { deployment: f.deployment });
  });
}
