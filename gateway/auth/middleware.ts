import { trace } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';
import type { DeploymentRegistry } from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import { clientSignal } from '../http/client-signal.ts';
import { requestHeader } from '../http/request-header.ts';
import type { KeyStore } from './key-store.ts';
import type { KeyRecord } from './key-record.ts';
import type { Admission, Limiter } from './limiter.ts';
import { checkModelAllowed, currentKey, RequestKey } from './request-key.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** The id of the API key the request authenticated with. */
    apiKeyId: string;
  }
}

export interface ApiKeyMiddlewareOptions {
  readonly keys: KeyStore;
  readonly limiter: Limiter;
  readonly deployments: DeploymentRegistry;
  /** Every refusal, by catalog code (for a metric). */
  readonly onRefused?: (code: string) => void;
}

/** KServe's health probes, which load balancers call without credentials. */
const OPEN = /^\/v2\/health\//;
/** Routes that name their model in the path: checked before the route runs. */
const NAMED_MODEL = /^\/(?:v1\/functions|v1\/models|v2\/models)\/([^/]+)/;

/**
 * Authenticates the public API: the key from `Authorization: Bearer`, `api-key` (Azure OpenAI clients) or
 * `x-api-key`; then the key's limits (rate, token quotas, concurrency) are taken for the request and given
 * back when its response ends, a stream's when its last byte is written or the client goes away. A key may
 * be refused a model (the deployment's allowedKeys): here for routes that name it in the path, at the
 * model's gate for those that name it in the body; GET /v1/models lists only the models the key may call.
 * The secret is never logged nor put on spans; the key's id is.
 */
export function apiKeyAuth(o: ApiKeyMiddlewareOptions): MiddlewareHandler {
  const refuse = (code: ApiError['code'], message: string, retryAfter?: number): never => {
    o.onRefused?.(code);
    throw new ApiError(code, message, retryAfter === undefined ? {} : { retryAfter });
  };
  return async function apiKeyAuth(c, next) {
    const path = c.req.path;
    if (OPEN.test(path)) return next();
    const presented = presentedKey(c);
    if (presented === undefined) {
      c.header('WWW-Authenticate', 'Bearer');
      refuse('api_key_missing', 'send an API key as Authorization: Bearer <key> (or an api-key header)');
    }
    const check = await o.keys.verify(presented!);
    if (!check.ok) {
      if (check.code === 'auth_unavailable') {
        refuse('auth_unavailable', 'the key store cannot be reached to check this key: retry shortly', 1);
      }
      c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      refuse(
        check.code,
        check.code === 'api_key_revoked' ? 'this API key was revoked' : 'the API key is not valid',
      );
    }
    const record = (check as { record: KeyRecord }).record;
    c.set('apiKeyId', record.id);
    trace.getActiveSpan()?.setAttribute('warmgate.api_key.id', record.id);
    const named = NAMED_MODEL.exec(path)?.[1];
    if (named !== undefined) {
      try {
        checkModelAllowed(o.deployments, decodeURIComponent(named), record.id);
      } catch (e) {
        o.onRefused?.('model_forbidden');
        throw e;
      }
    }
    const admission = await o.limiter.admit(record.id, record.limits);
    if (!admission.ok) {
      const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
      refuse(admission.code, refusalMessage(record, admission, seconds), seconds);
    }
    const key = new RequestKey(record, (admission as { lease: string | null }).lease, o.limiter);
    let handedOff = false;
    try {
      await currentKey.run(key, next);
      if (c.get('streaming') && c.res.body) {
        // The request lasts as long as its stream: finished when the stream closes or the client goes.
        const done = () => key.finish();
        const watched = c.res.body.pipeThrough(new TransformStream({ flush: done }));
        clientSignal(c).addEventListener('abort', done, { once: true });
        c.res = new Response(watched, c.res);
        handedOff = true;
      } else if (path === '/v1/models' && c.req.method === 'GET' && c.res.status === 200) {
        c.res = await allowedModels(c.res, o.deployments, record.id);
      }
    } finally {
      if (!handedOff) key.finish();
    }
  };
}

function presentedKey(c: Context): string | undefined {
  const authorization = requestHeader(c, 'authorization');
  if (authorization !== undefined) return /^Bearer +(\S+) *$/i.exec(authorization)?.[1] ?? '';
  return requestHeader(c, 'api-key') ?? requestHeader(c, 'x-api-key');
}

function refusalMessage(r: KeyRecord, a: Extract<Admission, { ok: false }>, seconds: number): string {
  const l = r.limits;
  const of =
    a.limit === 'requests per second'
      ? l.requestsPerSecond
      : a.limit === 'tokens per minute'
        ? l.tokensPerMinute
        : a.limit === 'tokens per day'
          ? l.tokensPerDay
          : l.maxConcurrentRequests;
  return a.code === 'too_many_concurrent_requests'
    ? `API key ${r.id} has ${of} requests in flight, its limit: retry when one ends`
    : `API key ${r.id} is over its limit of ${of} ${a.limit}: retry after ${seconds} s`;
}

/** GET /v1/models as this key sees it: only the models it may call. */
async function allowedModels(
  res: Response,
  deployments: DeploymentRegistry,
  keyId: string,
): Promise<Response> {
  const body = (await res.json()) as { data?: { id: string }[] };
  body.data = body.data?.filter((m) => {
    const allowed = deployments.get(m.id)?.allowedKeys;
    return allowed === undefined || allowed.includes(keyId);
  });
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  return new Response(JSON.stringify(body), { status: res.status, headers });
}
