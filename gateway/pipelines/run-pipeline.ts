import { context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { GenerationEvent } from '../../runtime/engine/api.ts';
import { type DeploymentSpec, outputRef, planPipeline, readPath } from '../deployments/index.ts';
import type { GatewayContext } from '../dispatch/context.ts';
import { ApiError } from '../errors/index.ts';
import { callFunction, type FunctionAnswer } from '../dispatch/function-call.ts';
import type { VersionPick } from '../dispatch/generation-target.ts';
import type { ClientSignal } from '../http/client-signal.ts';
import type { RequestPolicy } from '../openai/input-limits.ts';
import type { Outcome } from '../request-history/index.ts';
import { type PipelineState, stepBody } from './step-body.ts';
import { stepFailed } from './step-failed.ts';

/**
 * One call of a pipeline: each step starts once the steps it reads have answered (independent steps
 * run at once), through the function route's own dispatch (callFunction), in a `pipeline.step` span.
 * The first step to fail stops the others and fails the call, naming the step. With `stream: true` the
 * output step (a generative step's whole answer) streams; the others run whole first.
 */
export async function runPipeline(
  gw: GatewayContext,
  policy: RequestPolicy,
  p: DeploymentSpec,
  request: Record<string, unknown>,
  client: ClientSignal,
  /** The request's version pick (sticky client, readiness), for every step. */
  pick: VersionPick,
  /** The request's conversation (header x-warmgate-session), for its generative steps. */
  conversation?: string,
): Promise<FunctionAnswer> {
  // The first gate a request takes is where its API key is checked (gateway/auth): the pipeline's, so its
  // allowedKeys decide; its steps' calls are the pipeline's, as an adapter's run on its base.
  gw.gate(p.name);
  const plan = planPipeline(p.steps!);
  const broken = (_: string, message: string): never => {
    throw new ApiError('internal_error', `pipeline '${p.name}' was stored unchecked: ${message}`);
  };
  if (!plan.ok) broken('steps', `cycle ${plan.cycle.join(' -> ')}`);
  const { needs, layers } = plan as Extract<typeof plan, { ok: true }>;
  const out = outputRef(p, broken);
  const streamed = request.stream === true ? out.from.step : null;
  if (streamed !== null) {
    const kind = gw.deployments.get(p.steps![streamed]!.deployment)?.kind;
    if (out.path.length > 0 || kind === 'tensor')
      throw new ApiError(
        'invalid_request',
        `pipeline '${p.name}' answers '${out.text}', not a generative step's whole answer: it cannot stream`,
        { param: 'stream' },
      );
  }
  const arrivedAt = gw.clock.now();
  const t0 = performance.now();
  // Its own history, for its callers' view; each step's call is also an arrival of that deployment.
  gw.history.recordArrival(p.name, arrivedAt);
  const abort = new AbortController();
  const onClientGone = () => abort.abort(client.reason);
  client.addEventListener('abort', onClientGone, { once: true });
  const answers = new Map<string, unknown>();
  const state: PipelineState = { request, answers };
  let failure: ApiError | null = null;
  let events: AsyncGenerator<GenerationEvent> | null = null;
  const running = new Map<string, Promise<void>>();
  const finish = (outcome: Outcome) => {
    client.removeEventListener('abort', onClientGone);
    gw.history.recordEnd({
      model: p.name,
      at: arrivedAt,
      promptTokens: 0,
      outputTokens: 0,
      ttftMs: outcome === 'ok' ? performance.now() - t0 : null,
      outcome,
    });
  };
  for (const id of layers.flat()) {
    running.set(
      id,
      (async () => {
        await Promise.all(needs.get(id)!.map((up) => running.get(up)));
        const step = p.steps![id]!;
        const target = gw.deployments.get(step.deployment);
        const span = gw.tracer.startSpan('pipeline.step', {
          attributes: {
            'warmgate.pipeline': p.name,
            'warmgate.pipeline.step': id,
            'warmgate.pipeline.deployment': step.deployment,
          },
        });
        let ends = true;
        try {
          if (target === undefined)
            throw new ApiError('model_not_found', `'${step.deployment}' is not deployed`);
          const body = stepBody(step, target, state, id === streamed);
          const answer = await context.with(trace.setSpan(context.active(), span), () =>
            callFunction(gw, policy, target, body, abort.signal, pick, conversation),
          );
          if (answer.stream) {
            ends = false; // the span lasts as long as the stream
            events = spanned(answer.events, span);
          } else answers.set(id, answer.body);
        } catch (e) {
          const first = failure === null;
          failure ??= stepFailed(p.name, id, step.deployment, e);
          if (first) abort.abort(failure);
          const message = first ? failure.message : `stopped: ${failure.message}`;
          span.setStatus({ code: SpanStatusCode.ERROR, message });
          throw failure;
        } finally {
          if (ends) span.end();
        }
      })(),
    );
  }
  try {
    await Promise.all(running.values());
  } catch {
    // Steps that were running when one failed end on the abort; the answer is the first failure.
    await Promise.allSettled(running.values());
    // An output step that had started streaming holds a slot and an instance until its events end.
    if (events !== null) await drain(events);
    finish(client.aborted ? 'aborted' : failure!.status < 500 ? 'rejected' : 'error');
    throw failure!;
  }
  if (events !== null) return { stream: true, events: recorded(events, finish) };
  const value = readPath(answers.get(out.from.step), out.path);
  if (value === undefined) {
    finish('error');
    throw new ApiError(
      'pipeline_value_missing',
      `pipeline '${p.name}' answers '${out.text}', which step '${out.from.step}' did not answer`,
    );
  }
  finish('ok');
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  return { stream: false, body: isObject ? (value as Record<string, unknown>) : { output: value } };
}

/** The output step's events, its span ended (failed on an error event) when they end. */
async function* spanned(
  events: AsyncGenerator<GenerationEvent>,
  span: Span,
): AsyncGenerator<GenerationEvent> {
  try {
    for await (const ev of events) {
      if (ev.type === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: ev.message });
      yield ev;
    }
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}

/** A streamed answer, the pipeline's history ended as the stream ends. */
async function* recorded(
  events: AsyncGenerator<GenerationEvent>,
  finish: (outcome: Outcome) => void,
): AsyncGenerator<GenerationEvent> {
  let outcome: Outcome = 'aborted';
  try {
    for await (const ev of events) {
      if (ev.type === 'error') outcome = 'error';
      yield ev;
    }
    if (outcome !== 'error') outcome = 'ok';
  } catch (e) {
    outcome = 'error';
    throw e;
  } finally {
    finish(outcome);
  }
}

/** Reads aborted events to their end, so that their session releases what it holds. */
async function drain(events: AsyncGenerator<GenerationEvent>): Promise<void> {
  try {
    for await (const _ of events);
  } catch {
    // aborted: the session has ended all the same
  }
}
