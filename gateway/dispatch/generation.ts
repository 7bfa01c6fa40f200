import type { ClientSignal } from '../http/client-signal.ts';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { GenerationEvent } from '../../runtime/engine/api.ts';
import type { Clock } from '../../runtime/time/clock.ts';
import type { ModelGate } from '../admission/index.ts';
import type { GenerationRequest, SamplingLimitsForModel } from '../openai/index.ts';
import { ApiError } from '../errors/index.ts';
import type { HistoryStore, Outcome } from '../request-history/index.ts';
import type { InstanceMetadata, UpstreamInstance } from '../instances/index.ts';
import {
  type DeploymentText,
  instancePrompt,
  type ModelTexts,
  type Prompt,
  promptTokens,
  servesPrompt,
} from '../model-text/index.ts';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import type { VersionStats } from '../rollouts/index.ts';
import { hasVersions } from '../deployments/index.ts';
import { generateWhole, isUpstreamSilence, startGeneration, upstreamTimeout } from '../upstream/index.ts';
import { type ForwardDeps, forward } from './forward.ts';
import type { GenerationTarget } from './generation-target.ts';

export interface GenerationDeps extends ForwardDeps {
  /** Each deployment's tokenizer and chat template. */
  readonly texts: ModelTexts;
  readonly history: HistoryStore;
  readonly metrics: GatewayMetrics;
  /** Stamps requests: their arrival (history, first-token window) and responses' `created`. */
  readonly clock: Clock;
  /** Each version pool's recent outcomes and TTFTs (the canary analysis reads them). */
  readonly versionStats?: VersionStats;
}

/** A generation the gateway has handed to an instance, from acceptance to its last event. */
export interface GenerationSession {
  readonly request: GenerationRequest;
  readonly instance: UpstreamInstance;
  /**
   * A request that does not stream is answered whole: its events, all of them, with the session already
   * ended and recorded. Null for a streaming request.
   */
  readonly whole: readonly GenerationEvent[] | null;
  /** The instance's events; iterating to the end (or stopping early) ends the session. */
  readonly events: AsyncGenerator<GenerationEvent>;
}

// Per metadata object (an instance reports it once): the same frozen limits for every request, so
// what is derived from them can be remembered too (see narrowing).
const LIMITS = new WeakMap<InstanceMetadata, SamplingLimitsForModel>();

function limitsOf(inst: UpstreamInstance): SamplingLimitsForModel {
  const m = inst.metadata!;
  let l = LIMITS.get(m);
  if (l === undefined) {
    l = Object.freeze({
      vocabSize: m.vocabSize ?? 0,
      contextLength: m.contextLength ?? 0,
      maxN: m.maxN ?? 1,
    });
    LIMITS.set(m, l);
  }
  return l;
}

/**
 * A request's prompt, made from the model's text (DeploymentText) once the session knows it (a Hugging
 * Face model's on its tokenizer worker, hence the promise); may throw or reject with the request's 400s
 * (prompt_too_long, the chat template's).
 */
export type PromptFor = (text: DeploymentText) => Prompt | Promise<Prompt>;

/** The instance's answer: its events as they stream, or all of them once read whole. */
type Upstream = AsyncGenerator<GenerationEvent> | GenerationEvent[];

/** What one generation produced, for its metrics, span and history record. */
interface Tally {
  firstAt: number | null;
  lastAt: number;
  promptTokens: number;
  outputTokens: number;
  outcome: Outcome;
  /** The instance's own timing (on its finish events): the longest sample's, for a whole answer. */
  instance: { ttftMs: number; decodeMs: number; longestSample: number } | null;
  /** Read whole: every token reached the gateway at once, so only the instance's timing tells TPOT. */
  whole: boolean;
}

/**
 * Starts one generation: a concurrency slot, the queue while no instance is ready, routing, the request
 * checked against the chosen instance's model limits, the upstream call. What the session held (slot,
 * instance) is released, and the request's end recorded in history and metrics, exactly once, however it
 * ends (its arrival is recorded as it starts).
 *
 * `prompt`: made by the route when the model's text was known (ModelTexts.peek: its 400s came before
 * anything here), else made here once ModelTexts.load has it, which may wait in the model's queue for a
 * first instance or fetch the tokenizer; that wait counts as queueing. The instance chosen must serve
 * the tokenizer the prompt was counted with (a deployment changing its model may have both): else 503
 * tokenizer_unavailable.
 *
 * `target`: the deployment called, which the request is recorded and metered as, and the pool it runs
 * on (an adapter's: its base's instances, preferring one that holds the adapter).
 */
export async function startGenerationSession(
  deps: GenerationDeps,
  gate: ModelGate,
  target: GenerationTarget,
  prompt: Prompt | PromptFor,
  build: (limits: SamplingLimitsForModel, prompt: Prompt) => GenerationRequest,
  signal: ClientSignal,
): Promise<GenerationSession> {
  const deployment = target.name;
  const adapter = target.adapter;
  const arrivedAt = deps.clock.now();
  const t0 = performance.now();
  // Per-version figures only where there are versions (the canary analysis reads them).
  const versioned = target.version !== null && hasVersions(target.spec);
  const leave = gate.enter();
  // Counted now, not when the request ends: the controller reads each second of arrivals once, soon
  // after it closes, and a request may outlast that (e.g. by waiting out a cold start).
  deps.history.recordArrival(deployment, arrivedAt);
  let request: GenerationRequest | null = null;
  let textWaitMs = 0;
  let fwd;
  try {
    let made: Prompt;
    if (typeof prompt === 'function') {
      const known = await deps.texts.load(target.pool, gate, signal);
      textWaitMs = known.waitedMs;
      made = await prompt(known.text);
    } else made = prompt;
    const route = { pool: target.pool, prompt: made, adapter: adapter?.id, session: target.session };
    fwd = await forward<Upstream>(deps, gate, route, signal, (inst, headers) => {
      if (!servesPrompt(inst.metadata!.tokenizer, made)) throw tokenizerChanged(inst);
      const req = build(limitsOf(inst), made);
      request = req;
      const body = {
        prompt: instancePrompt(req.prompt),
        params: req.params,
        ...(adapter !== null && { adapter }),
      };
      return req.stream
        ? startGeneration(inst, body, { signal, headers })
        : generateWhole(inst, body, { signal, headers });
    });
  } catch (e) {
    leave();
    const outcome: Outcome = signal.aborted
      ? 'aborted'
      : e instanceof ApiError && e.status < 500
        ? 'rejected'
        : 'error';
    if (versioned && outcome !== 'aborted' && outcome !== 'rejected')
      deps.versionStats?.note(target.pool, deps.clock.now(), true, null);
    deps.history.recordEnd({
      model: deployment,
      at: arrivedAt,
      promptTokens: 0,
      outputTokens: 0,
      ttftMs: null,
      outcome,
    });
    throw e;
  }
  const queueMs = textWaitMs + fwd.queueMs;
  deps.metrics.queued(deployment, queueMs);
  const span = trace.getSpan(context.active());
  const req = request!;
  const end = (t: Tally) => {
    fwd.release();
    leave();
    // As the client saw it: a whole answer's first token comes with its last.
    const ttftMs = t.firstAt === null ? null : t.firstAt - t0;
    if (ttftMs !== null) {
      deps.metrics.firstToken(deployment, ttftMs);
      // What the instance took to a first token, without the wait for one: the controller sizes capacity
      // from it against the TTFT SLO. A whole answer arrives with its last token, so its own timing counts.
      const instanceTtft = t.whole && t.instance !== null ? t.instance.ttftMs : ttftMs - queueMs;
      gate.firstTokens.note(instanceTtft, arrivedAt + ttftMs);
    }
    if (t.whole) {
      const i = t.instance;
      if (i !== null && i.longestSample > 1)
        deps.metrics.perOutputToken(deployment, i.decodeMs / (i.longestSample - 1));
    } else if (t.firstAt !== null && t.outputTokens > 1) {
      deps.metrics.perOutputToken(deployment, (t.lastAt - t.firstAt) / (t.outputTokens - 1));
    }
    if (span) {
      span.setAttributes({
        'gen_ai.usage.input_tokens': t.promptTokens,
        'gen_ai.usage.output_tokens': t.outputTokens,
      });
      if (t.outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (versioned && t.outcome !== 'aborted')
      deps.versionStats?.note(target.pool, deps.clock.now(), t.outcome === 'error', ttftMs);
    deps.history.recordEnd({
      model: deployment,
      at: arrivedAt,
      promptTokens: t.promptTokens,
      outputTokens: t.outputTokens,
      ttftMs,
      outcome: t.outcome,
    });
  };
  // The prompt is charged from the start (the gateway counted it as the instance does): a client that
  // leaves before the instance's finish event, which carries its count, still pays for its prompt.
  const tally: Tally = {
    firstAt: null,
    lastAt: 0,
    promptTokens: promptTokens(req.prompt),
    outputTokens: 0,
    outcome: 'aborted',
    instance: null,
    whole: Array.isArray(fwd.value),
  };
  const note = (ev: GenerationEvent) => {
    if (ev.type === 'token') {
      tally.outputTokens++;
      tally.lastAt = performance.now();
      if (tally.firstAt === null) {
        tally.firstAt = tally.lastAt;
        span?.addEvent('gen_ai.first_token');
      }
    } else if (ev.type === 'finish') {
      tally.promptTokens = ev.promptTokens;
      if (ev.timing && ev.completionTokens >= (tally.instance?.longestSample ?? 0)) {
        tally.instance = { ...ev.timing, longestSample: ev.completionTokens };
      }
    } else if (ev.type === 'error') {
      tally.outcome = 'error';
    }
  };

  const upstream = fwd.value;
  if (Array.isArray(upstream)) {
    // Answered whole: the session ends here.
    for (const ev of upstream) note(ev);
    if (tally.outcome !== 'error') tally.outcome = 'ok';
    end(tally);
    let replayed: AsyncGenerator<GenerationEvent> | null = null;
    return {
      request: req,
      instance: fwd.instance,
      whole: upstream,
      // Made when first asked for: a whole answer is usually read from `whole`.
      get events() {
        return (replayed ??= replay(upstream));
      },
    };
  }
  const events = (async function* () {
    try {
      for await (const ev of upstream) {
        note(ev);
        yield ev;
      }
      if (tally.outcome !== 'error') tally.outcome = 'ok';
    } catch (e) {
      tally.outcome = signal.aborted ? 'aborted' : 'error';
      if (!signal.aborted && isUpstreamSilence(e)) {
        deps.registry.markHung(fwd.instance);
        throw upstreamTimeout(fwd.instance.id, e);
      }
      if (!signal.aborted)
        throw new ApiError('upstream_failed', `the instance stream broke: ${(e as Error).message}`);
    } finally {
      end(tally);
    }
  })();
  return { request: req, instance: fwd.instance, whole: null, events };
}

function tokenizerChanged(inst: UpstreamInstance): ApiError {
  return new ApiError(
    'tokenizer_unavailable',
    `instance ${inst.id} serves another tokenizer than the one the prompt was counted with (the model is changing): retry`,
    { retryAfter: 1 },
  );
}

async function* replay(events: readonly GenerationEvent[]): AsyncGenerator<GenerationEvent> {
  yield* events;
}
