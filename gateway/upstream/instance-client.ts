import type { ClientSignal } from '../http/client-signal.ts';
import type { GenerationEvent } from '../../runtime/engine/api.ts';
import type {
  GenerateRequestBody,
  InferResponseBody,
  SequenceBody,
  TensorBody,
} from '../../runtime/instance/protocol.ts';
import type { UpstreamInstance } from '../instances/index.ts';
import { instanceError, isUpstreamSilence, RetryableUpstreamError, upstreamTimeout } from './errors.ts';
import { ndjson } from './ndjson.ts';

export interface CallOptions {
  /** The client's signal: when it aborts, the upstream request is torn down and the instance frees it. */
  readonly signal: ClientSignal;
  /** Trace context and the like. */
  readonly headers?: Record<string, string>;
}

async function post(inst: UpstreamInstance, path: string, body: unknown, o: CallOptions) {
  let res;
  try {
    res = await inst.pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...o.headers },
      body: JSON.stringify(body),
      signal: o.signal,
    });
  } catch (e) {
    if (o.signal.aborted) throw e;
    // Silent past the idle timeout: not retried (a hung instance would cost the client the wait twice).
    if (isUpstreamSilence(e)) throw upstreamTimeout(inst.id, e);
    throw new RetryableUpstreamError(`instance ${inst.id} unreachable: ${(e as Error).message}`, false);
  }
  inst.noteLoadHeader(res.headers['x-warmgate-load']);
  if (res.statusCode !== 200) {
    const parsed = await res.body.json().catch(() => null);
    throw instanceError(res.statusCode, parsed);
  }
  return res;
}

/**
 * Starts a generation on the instance. Resolves once the instance accepted it (status 200), so a refusal
 * is known before the client sees a byte; the events then stream as the instance writes them. A caller
 * that answers in one piece uses generateWhole instead.
 */
export async function startGeneration(
  inst: UpstreamInstance,
  body: GenerateRequestBody,
  o: CallOptions,
): Promise<AsyncGenerator<GenerationEvent>> {
  const res = await post(inst, '/generate', body, o);
  return ndjson<GenerationEvent>(res.body);
}

export async function inferTensors(
  inst: UpstreamInstance,
  inputs: readonly TensorBody[],
  o: CallOptions,
  sequence?: SequenceBody,
): Promise<InferResponseBody> {
  const res = await post(inst, '/infer', sequence ? { inputs, sequence } : { inputs }, o);
  try {
    return (await res.body.json()) as InferResponseBody;
  } catch (e) {
    if (isUpstreamSilence(e)) throw upstreamTimeout(inst.id, e);
    throw e;
  }
}
