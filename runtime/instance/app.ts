import { Hono } from 'hono';
import { type CatalogErrorHandlerOptions, catalogErrorHandler, instanceErrorBody } from '../errors/index.ts';
import { instanceBodyLimit } from './http/body-limit.ts';
import { adapterRoutes } from './http/adapter-routes.ts';
import { drainRoute } from './http/drain-route.ts';
import { generateRoute } from './http/generate-route.ts';
import { inferRoute } from './http/infer-route.ts';
import { loadHeader } from './http/load-header.ts';
import { probeRoutes } from './http/probe-routes.ts';
import { tokenizerRoute } from './http/tokenizer-route.ts';
import type { RuntimeInstance } from './instance.ts';

/**
 * Largest body the instance reads. Above the gateway's default (4 MiB): a tensor body the gateway
 * re-serializes as flat numbers may grow a little on the way.
 */
export const DEFAULT_INSTANCE_BODY_LIMIT = 32 * 2 ** 20;

export interface InstanceAppOptions {
  /** Default DEFAULT_INSTANCE_BODY_LIMIT. */
  bodyLimitBytes?: number;
  /** Where unexpected errors (answered 500 internal_error) are reported. Default console.error. */
  log?: CatalogErrorHandlerOptions['log'];
}

/**
 * The instance's internal API, for the gateway: liveness and readiness, a load report cheap enough to
 * poll (and carried on every /generate and /infer response as x-warmgate-load), the model's tokenizer
 * files, generation streamed as NDJSON events, tensor inference, drain, Prometheus metrics. Errors answer
 * { error: { code, message, field? } } with the catalog's codes and statuses (runtime/errors). A W3C
 * traceparent header makes the request's spans children of the caller's.
 */
export function createInstanceApp(inst: RuntimeInstance, options: InstanceAppOptions = {}): Hono {
  const app = new Hono();
  // The instance trusts no body: one over the limit is refused before it is buffered.
  const limited = instanceBodyLimit(options.bodyLimitBytes ?? DEFAULT_INSTANCE_BODY_LIMIT);
  const withLoad = loadHeader(inst);
  for (const path of ['/generate', '/infer']) app.use(path, limited, withLoad);
  app.use('/adapters', limited);
  return app
    .route('/', probeRoutes(inst))
    .route('/', adapterRoutes(inst))
    .route('/', tokenizerRoute(inst))
    .route('/', drainRoute(inst))
    .route('/', generateRoute(inst))
    .route('/', inferRoute(inst))
    .onError(catalogErrorHandler(instanceErrorBody, { log: options.log }));
}
