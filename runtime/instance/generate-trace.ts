import { type Context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { GenerationEvent, RequestTimes, SamplingParams } from '../engine/index.ts';
import type { RequestRecord, RequestStatus } from './metrics.ts';

/**
 * Every time given to a span is epoch ms from performance.now(): a performance timestamp would be
 * corrected by each span's own Date.now() offset, which differs by up to a millisecond between spans
 * and could put a child before its parent.
 */
export const epochMs = (perfMs: number): number => performance.timeOrigin + perfMs;

/**
 * One /generate request's span `runtime.generate` (gen_ai attributes) and, once it ends, its
 * children queue (arrival → first step), prefill (→ first token) and decode (→ finish), built from the
 * engine's timestamps. It also adds up the request's metrics and hands them to `record`, once.
 */
export class GenerateTrace {
  readonly #tracer: Tracer;
  readonly #parent: Context;
  readonly #span: Span;
  readonly #record: (r: RequestRecord) => void;
  #times: RequestTimes | null = null;
  #outputTokens = 0;
  #longestSample = 0;
  #preemptions = 0;
  #reasons: string[] = [];
  #error: { code: string; message: string } | null = null;
  #ended = false;

  constructor(tracer: Tracer, parent: Context, model: string, record: (r: RequestRecord) => void) {
    this.#tracer = tracer;
    this.#parent = parent;
    this.#record = record;
    this.#span = tracer.startSpan(
      'runtime.generate',
      {
        kind: SpanKind.SERVER,
        startTime: epochMs(performance.now()),
        attributes: { 'gen_ai.operation.name': 'text_completion', 'gen_ai.request.model': model },
      },
      parent,
    );
  }

  /** The engine took it: from here on its timestamps are live. */
  admitted(requestId: string, inputTokens: number, params: SamplingParams, times: RequestTimes): void {
    this.#times = times;
    this.#span.setAttributes({
      'warmgate.request_id': requestId,
      'gen_ai.request.max_tokens': params.maxTokens,
      'gen_ai.request.temperature': params.temperature,
      'gen_ai.request.top_p': params.topP,
      'gen_ai.usage.input_tokens': inputTokens,
    });
  }

  observe(ev: GenerationEvent): void {
    if (ev.type === 'finish') {
      this.#outputTokens += ev.completionTokens;
      this.#longestSample = Math.max(this.#longestSample, ev.completionTokens);
      this.#preemptions += ev.preemptions;
      this.#reasons.push(ev.reason);
    } else if (ev.type === 'error') {
      this.#error = { code: ev.code, message: ev.message };
    }
  }

  /** Refused before the engine took it (bad input, draining, queue full). */
  rejected(code: string, message: string): void {
    if (this.#ended) return;
    this.#close('rejected', `${code}: ${message}`, code);
    this.#record({ status: 'rejected' });
  }

  /**
   * The stream ended (finished, failed, or the client left): ends every span and records the
   * request's metrics; later calls do nothing. `failure` is an error thrown while streaming.
   */
  end(clientLeft: boolean, failure?: { readonly message: string }): void {
    if (this.#ended) return;
    const status: RequestStatus =
      this.#error !== null || failure !== undefined
        ? 'error'
        : clientLeft || this.#reasons.includes('abort')
          ? 'aborted'
          : 'ok';
    const now = performance.now();
    const t = this.#times;
    if (t) {
      const ctx = trace.setSpan(this.#parent, this.#span);
      const child = (name: string, from: number, to: number) =>
        this.#tracer.startSpan(name, { startTime: epochMs(from) }, ctx).end(epochMs(to));
      child('runtime.queue', t.arrivedAt, t.scheduledAt ?? now);
      if (t.scheduledAt !== null) child('runtime.prefill', t.scheduledAt, t.firstTokenAt ?? now);
      if (t.firstTokenAt !== null) {
        this.#span.addEvent('gen_ai.first_token', epochMs(t.firstTokenAt));
        child('runtime.decode', t.firstTokenAt, t.finishedAt ?? now);
      }
      this.#span.setAttributes({
        'gen_ai.usage.output_tokens': this.#outputTokens,
        'gen_ai.response.finish_reasons': this.#reasons,
        'warmgate.preemptions': this.#preemptions,
      });
    }
    const message =
      status === 'error'
        ? (this.#error?.message ?? failure?.message)
        : status === 'aborted'
          ? 'aborted: the client left or the request was cancelled'
          : undefined;
    const errorType =
      status === 'error'
        ? (this.#error?.code ?? 'internal_error')
        : status === 'aborted'
          ? 'aborted'
          : undefined;
    this.#close(status, message, errorType);
    if (!t) {
      this.#record({ status });
      return;
    }
    const s = (ms: number) => ms / 1000;
    const finished = t.finishedAt ?? now;
    this.#record({
      status,
      queueS: t.scheduledAt !== null ? s(t.scheduledAt - t.arrivedAt) : undefined,
      ttftS: t.firstTokenAt !== null ? s(t.firstTokenAt - t.arrivedAt) : undefined,
      // The samples of one request decode side by side: per token of the longest one.
      tpotS:
        status === 'ok' && t.firstTokenAt !== null && this.#longestSample > 1
          ? s((finished - t.firstTokenAt) / (this.#longestSample - 1))
          : undefined,
      e2eS: status === 'ok' ? s(finished - t.arrivedAt) : undefined,
    });
  }

  #close(status: RequestStatus, message: string | undefined, errorType: string | undefined): void {
    this.#ended = true;
    this.#span.setAttribute('warmgate.status', status);
    if (errorType) this.#span.setAttribute('error.type', errorType);
    this.#span.setStatus(
      status === 'ok' ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message },
    );
    this.#span.end(epochMs(performance.now()));
  }
}
