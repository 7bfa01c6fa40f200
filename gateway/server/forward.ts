import type { ClientSignal } from './client-signal.ts';
import { context, type Span, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { traceHeaders } from '../../runtime/telemetry/index.ts';
import type { ModelGate } from '../admission/index.ts';
import { ApiError } from '../errors/index.ts';
import type { InstanceRegistry, UpstreamInstance } from '../instances/index.ts';
import type { RouteDecision, Router } from '../routing/index.ts';
import { RetryableUpstreamError } from '../upstream/index.ts';

export interface ForwardDeps {
  readonly registry: InstanceRegistry;
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

/**
 * Sends one request to an instance of the deployment: waits in the model's queue while none is ready,
 * routes it, calls it, and when the instance fails before answering (refused, draining, full) routes it
 * once more to another instance. Nothing has reached the client at that point, so the retry is safe.
 */
export async function forward<T>(
  deps: ForwardDeps,
  gate: ModelGate,
  deployment: string,
  prompt: string | null,
  signal: ClientSignal,
  call: (inst: UpstreamInstance, headers: Record<string, string>) => Promise<T>,
): Promise<Forwarded<T>> {
  const exclude = new Set<string>();
  let queueMs = 0;
  for (let attempt = 1; ; attempt++) {
    const route = await inSpan(deps.tracer, 'gateway.queue', async (span) => {
      const r = await gate.waitFor(() => deps.router.route(deployment, prompt, exclude), signal);
      span.setAttribute('warmgate.queue_ms', r.waitedMs);
      return r;
    });
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
    instance.outstanding++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      instance.outstanding--;
    };
    try {
      const value = await inSpan(deps.tracer, 'gateway.upstream', async (span) => {
        span.setAttributes({ 'server.address': instance.url, 'warmgate.instance': instance.id });
        return call(instance, traceHeaders());
      });
      return { value, instance, decision, queueMs, release };
    } catch (e) {
      release();
      if (!(e instanceof RetryableUpstreamError)) throw e;
      deps.registry.markFailed(instance, e.draining);
      exclude.add(instance.id);
      if (attempt >= 2) {
        throw new ApiError('upstream_failed', `the model's instances failed the request twice: ${e.message}`);
      }
      deps.onRetry?.(deployment);
    }
  }
}

/** Runs `f` in a child span of the active one; the span ends (with the error recorded) however f ends. */
export function inSpan<T>(tracer: Tracer, name: string, f: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, {}, context.active());
  if (!span.isRecording()) return f(span); // tracing off: nothing to record, no context to carry
  return recorded(span, f);
}

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
