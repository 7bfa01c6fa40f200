import type { ClientSignal } from './client-signal.ts';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { GenerationEvent } from '../../runtime/engine/index.ts';
import type { ModelGate } from '../admission/index.ts';
import type { GenerationRequest, SamplingLimitsForModel } from '../openai/index.ts';
import { ApiError } from '../errors/index.ts';
import type { HistoryStore, Outcome } from '../history/index.ts';
import type { UpstreamInstance } from '../instances/index.ts';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { startGeneration } from '../upstream/index.ts';
import { type ForwardDeps, forward } from './forward.ts';

export interface GenerationDeps extends ForwardDeps {
  readonly history: HistoryStore;
  readonly metrics: GatewayMetrics;
}

/** A generation the gateway has handed to an instance, from acceptance to its last event. */
export interface GenerationSession {
  readonly request: GenerationRequest;
  readonly instance: UpstreamInstance;
  /** The instance's events; iterating to the end (or stopping early) ends the session. */
  readonly events: AsyncGenerator<GenerationEvent>;
}

function limitsOf(inst: UpstreamInstance): SamplingLimitsForModel {
  const m = inst.metadata!;
  return { vocabSize: m.vocabSize ?? 0, contextLength: m.contextLength ?? 0, maxN: m.maxN ?? 1 };
}

/**
 * Starts one generation: a concurrency slot, the queue while no instance is ready, routing, the request
 * checked against the chosen instance's model limits, the upstream call. What the session held (slot,
 * instance) is released, and the request recorded in history and metrics, exactly once, however it ends.
 */
export async function startGenerationSession(
  deps: GenerationDeps,
  gate: ModelGate,
  deployment: string,
  promptForRouting: string,
  build: (limits: SamplingLimitsForModel) => GenerationRequest,
  signal: ClientSignal,
): Promise<GenerationSession> {
  const arrivedAt = Date.now();
  const t0 = performance.now();
  const leave = gate.enter();
  let request: GenerationRequest | null = null;
  let fwd;
  try {
    fwd = await forward(deps, gate, deployment, promptForRouting, signal, (inst, headers) => {
      request = build(limitsOf(inst));
      return startGeneration(
        inst,
        { prompt: request.prompt, params: { ...request.params } },
        { signal, headers, whole: !request.stream },
      );
    });
  } catch (e) {
    leave();
    const outcome: Outcome = signal.aborted
      ? 'aborted'
      : e instanceof ApiError && e.status < 500
        ? 'rejected'
        : 'error';
    deps.history.record({
      model: deployment,
      at: arrivedAt,
      promptTokens: 0,
      outputTokens: 0,
      ttftMs: null,
      outcome,
    });
    throw e;
  }
  deps.metrics.queued(deployment, fwd.queueMs);
  const span = trace.getSpan(context.active());
  const upstream = fwd.value;
  const req = request!;
  const events = (async function* () {
    let firstAt: number | null = null;
    let lastAt = 0;
    let promptTokens = 0;
    let outputTokens = 0;
    let outcome: Outcome = 'aborted';
    try {
      for await (const ev of upstream) {
        if (ev.type === 'token') {
          outputTokens++;
          lastAt = performance.now();
          if (firstAt === null) {
            firstAt = lastAt;
            span?.addEvent('gen_ai.first_token');
          }
        } else if (ev.type === 'finish') {
          promptTokens = ev.promptTokens;
        } else if (ev.type === 'error') {
          outcome = 'error';
        }
        yield ev;
      }
      if (outcome !== 'error') outcome = 'ok';
    } catch (e) {
      outcome = signal.aborted ? 'aborted' : 'error';
      if (!signal.aborted)
        throw new ApiError('upstream_failed', `the instance stream broke: ${(e as Error).message}`);
    } finally {
      fwd.release();
      leave();
      const ttftMs = firstAt === null ? null : firstAt - t0;
      if (ttftMs !== null) deps.metrics.firstToken(deployment, ttftMs);
      if (firstAt !== null && outputTokens > 1) {
        deps.metrics.perOutputToken(deployment, (lastAt - firstAt) / (outputTokens - 1));
      }
      span?.setAttributes({
        'gen_ai.usage.input_tokens': promptTokens,
        'gen_ai.usage.output_tokens': outputTokens,
      });
      if (outcome === 'error') span?.setStatus({ code: SpanStatusCode.ERROR });
      deps.history.record({ model: deployment, at: arrivedAt, promptTokens, outputTokens, ttftMs, outcome });
    }
  })();
  return { request: req, instance: fwd.instance, events };
}
