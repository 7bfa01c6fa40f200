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
      // The poll also lists the adapters held (the header on responses leaves them out: it is sent often).
      .get('/load', (c) =>
        c.json(
          inst.engine?.adapterStats() === undefined
            ? loadReport(inst)
            : { ...loadReport(inst), adapters: inst.adapters.ids() },
        ),
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
