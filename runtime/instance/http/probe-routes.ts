import { Hono } from 'hono';
import { ApiError } from '../../errors/index.ts';
import type { RuntimeInstance } from '../instance.ts';
import { loadReport } from '../load-report.ts';
import { instanceMetadata } from '../metadata.ts';

/** What the gateway and the orchestrator poll: liveness, readiness, load, metadata, Prometheus metrics. */
export function probeRoutes(inst: RuntimeInstance): Hono {
  return (
    new Hono()
      .get('/live', (c) => c.json({ status: 'live', state: inst.state }))
      .get('/ready', (c) =>
        c.json({ ready: inst.state === 'ready', state: inst.state }, inst.state === 'ready' ? 200 : 503),
      )
      .get('/load', (c) => c.json(loadReport(inst)))
      // The adapters requests asked for, and the slots they take turns in.
      .get('/adapters', (c) =>
        c.json({ adapters: inst.adapters.ids(), memory: inst.engine?.adapterStats() ?? null }),
      )
      .get('/metadata', (c) => {
        if (inst.state === 'loading') throw new ApiError('engine_draining', 'still loading');
        return c.json(instanceMetadata(inst));
      })
      .get('/metrics', async (c) =>
        c.text(await inst.telemetry.metricsText(), 200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        }),
      )
  );
}
