import type { Meter } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import type { DeploymentRegistry } from '../deployments/index.ts';
import type { HistoryStore, RequestEnd } from '../request-history/index.ts';
import type { KeyStore } from './key-store.ts';
import { KeyUsageTally } from './key-usage.ts';
import type { Limiter } from './limiter.ts';
import { apiKeyAuth } from './middleware.ts';
import { checkModelAllowed, currentKey } from './request-key.ts';

export interface GatewayAuthOptions {
  readonly keys: KeyStore;
  readonly limiter: Limiter;
  readonly deployments: DeploymentRegistry;
  readonly meter?: Meter;
}

/** What the gateway wires when API keys are required: the middleware and two wrappers of its context. */
export interface GatewayAuth {
  /** Mounted on the public API (/v1, /v2). */
  readonly middleware: MiddlewareHandler;
  /**
   * The context's gate(model), which also refuses the request's key a model it may not call. Only the
   * first gate a request enters is checked: it is the request's own model (routes take their gate before
   * anything else), while later calls in the request's async context come from elsewhere (demand
   * reports that read every model's gate).
   */
  guardGate<G>(gate: (model: string, pool?: string) => G): (model: string, pool?: string) => G;
  /** The history store, also counting each generative request's tokens against its key. */
  meterHistory(history: HistoryStore): HistoryStore;
  /** What each key used at this replica (requests and tokens of the generations it recorded). */
  readonly usage: KeyUsageTally;
  /** The limiter the keys' limits are enforced on (shared by every replica with Redis). */
  readonly limiter: Limiter;
}

export function createGatewayAuth(o: GatewayAuthOptions): GatewayAuth {
  const refusals = o.meter?.createCounter('warmgate_gateway_auth_refusals_total', {
    description: 'Public API requests refused by key authentication or a key limit, by error code.',
  });
  const usage = new KeyUsageTally();
  return {
    usage,
    limiter: o.limiter,
    middleware: apiKeyAuth({
      keys: o.keys,
      limiter: o.limiter,
      deployments: o.deployments,
      onRefused: refusals && ((code) => refusals.add(1, { code })),
    }),
    guardGate(gate) {
      return (model, pool) => {
        const key = currentKey.getStore();
        if (key && !key.modelChecked) {
          key.modelChecked = true;
          try {
            checkModelAllowed(o.deployments, model, key.record.id);
          } catch (e) {
            refusals?.add(1, { code: 'model_forbidden' });
            throw e;
          }
        }
        return gate(model, pool);
      };
    },
    meterHistory(history) {
      return {
        recordArrival: (model, at) => history.recordArrival(model, at),
        // Tokens are known at the end: that is when they count against the key.
        recordEnd(r: RequestEnd) {
          history.recordEnd(r);
          const key = currentKey.getStore();
          // Tensor requests record rows, not tokens: only generations count against token quotas.
          if (key && o.deployments.get(r.model)?.kind !== 'tensor') {
            key.used(r.promptTokens + r.outputTokens);
            usage.add(key.record.id, r.promptTokens + r.outputTokens);
          }
        },
        flush: () => history.flush(),
        series: (model, fromMs, toMs, bucketMs) => history.series(model, fromMs, toMs, bucketMs),
        close: () => history.close(),
      };
    },
  };
}
