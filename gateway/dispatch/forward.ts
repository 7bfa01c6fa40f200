import type { ClientSignal } from '../http/client-signal.ts';
import { context, type Span, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { traceHeaders } from '../../runtime/telemetry/index.ts';
import type { ModelGate } from '../admission/index.ts';
import { ApiError } from '../errors/index.ts';
import type { InstanceTable, UpstreamInstance } from '../instances/index.ts';
import type { Prompt } from '../model-text/index.ts';
import type { RouteDecision, Router } from '../routing/index.ts';
import { RetryableUpstreamError } from '../upstream/index.ts';

export interface ForwardDeps {
  readonly registry: InstanceTable;
  readonly router: Router;
  readonly tracer: Tracer;
  /** Called when a request that failed before answering is sent on to another instance. */
  readonly onRetry?: (deployment: string) => void;
}

export interface Forwarded<T> {
  readonly value: T;
  readonly instance: UpstreamInstance;
  readonly decision: RouteDecision;
  readonly queueMs: number;
  /** Ends the request's hold on the instance (outstanding count); call when its response has ended. */
  readonly release: () => void;
}

// Untraced requests carry no trace context: one empty set of headers for all of them.
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Where a request goes: a pool of instances, its prompt (prefix affinity) and the adapter it names. */
export interface RouteTarget {
  readonly pool: string;
  readonly prompt: Prompt | null;
  readonly adapter?: string | undefined;
  /** The conversation it continues (x-warmgate-session): kept on the instance of its previous turn. */
  readonly session?: string | undefined;
}

/**
 * Sends one request to an instance of the pool: waits in the model's queue while none is ready,
 * routes it, calls it, and when the instance fails before answering (refused, draining, full) routes it
 * once more to another instance. Nothing has reached the client at that point, so the retry is safe.
 */
export async function forward<T>(
  deps: ForwardDeps,
  gate: ModelGate,
  target: RouteTarget,
  signal: ClientSignal,
  call: (inst: UpstreamInstance, headers: Record<string, string>) => Promise<T>,
): Promise<Forwarded<T>> {
  let exclude: Set<string> | undefined; // made on a first failure: most requests never need one
  let queueMs = 0;
  if (target.session !== undefined)
    await deps.router.learnSession(target.pool, target.session, target.adapter);
  for (let attempt = 1; ; attempt++) {
    const attemptRoute = () =>
      deps.router.route(target.pool, target.prompt, exclude, target.adapter, target.session);
    const queueSpan = deps.tracer.startSpan('gateway.queue');
    // Untraced, a request that finds a ready instance at once skips the queue's promises altogether.
    const ready = queueSpan.isRecording() ? null : attemptRoute();
    const route = ready
      ? { value: ready, waitedMs: 0 }
      : queueSpan.isRecording()
        ? await recorded(queueSpan, async (span) => {
            const r = await gate.waitFor(attemptRoute, signal);
            span.setAttribute('warmgate.queue_ms', r.waitedMs);
            return r;
          })
        : await gate.waitFor(attemptRoute, signal);
    queueMs += route.waitedMs;
    const { instance, decision } = route.value;
    const routeSpan = deps.tracer.startSpan('gateway.route');
    if (routeSpan.isRecording()) {
      routeSpan.setAttributes({
        'warmgate.instance': instance.id,
        'warmgate.route.reason': decision.reason,
        'warmgate.route.matched_blocks': decision.matchedBlocks,
        'warmgate.attempt': attempt,
      });
    }
    routeSpan.end();
    deps.registry.startRequest(instance);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      deps.registry.endRequest(instance);
    };
    try {
      const upstreamSpan = deps.tracer.startSpan('gateway.upstream');
      const value = upstreamSpan.isRecording()
        ? await recorded(upstreamSpan, (span) => {
            span.setAttributes({ 'server.address': instance.url, 'warmgate.instance': instance.id });
            return call(instance, traceHeaders());
          })
        : await call(instance, trace.getSpan(context.active()) ? traceHeaders() : NO_HEADERS);
      // It holds the adapter now (it loaded it before answering): later requests prefer it.
      if (target.adapter !== undefined) deps.registry.noteAdapter(instance, target.adapter);
      return { value, instance, decision, queueMs, release };
    } catch (e) {
      release();
      if (e instanceof ApiError && e.code === 'upstream_timeout') deps.registry.markHung(instance);
      if (!(e instanceof RetryableUpstreamError)) throw e;
      deps.registry.markFailed(instance, e.draining);
      (exclude ??= new Set()).add(instance.id);
      if (attempt >= 2) {
        throw new ApiError('upstream_failed', `the model's instances failed the request twice: ${e.message}`);
      }
      deps.onRetry?.(target.pool);
    }
  }
}

/** Runs `f` in the given (recording) span, made active; the span ends, with any error recorded, however f ends. */
async function recorded<T>(span: Span, f: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(context.active(), span), () => f(span));
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}

/** Runs the request's checks in a `gateway.validate` span, so a trace shows what refused a request. */
export function validated<T>(tracer: Tracer, f: () => T): T {
  const span = tracer.startSpan('gateway.validate');
  try {
    return f();
  } catch (e) {
    if (span.isRecording()) span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}
