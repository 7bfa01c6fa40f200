import type { ClientSignal } from '../http/client-signal.ts';
import { ApiError } from '../errors/index.ts';
import type { Outcome } from '../request-history/index.ts';
import type { InstanceMetadata } from '../instances/index.ts';
import { inferTensors, type InferResponseBody, type TensorBody } from '../upstream/index.ts';
import type { GatewayContext } from './context.ts';
import { forward } from './forward.ts';

/**
 * One tensor inference: the model's slot and queue, routing by load, the inputs checked against the
 * chosen instance's declared tensors, the call (batched with others at the instance), history recorded.
 */
export async function callTensorModel(
  gw: GatewayContext,
  deployment: string,
  inputs: (meta: InstanceMetadata) => TensorBody[],
  signal: ClientSignal,
): Promise<InferResponseBody> {
  const at = gw.clock.now();
  const t0 = performance.now();
  const gate = gw.gate(deployment);
  const leave = gate.enter();
  // Counted now, as a generation's arrival is (generation.ts says why); the rest when it ends.
  gw.history.recordArrival(deployment, at);
  let outcome: Outcome = 'error';
  let rows = 0;
  try {
    const fwd = await forward(gw, gate, { pool: deployment, prompt: null }, signal, (inst, headers) => {
      const checked = inputs(inst.metadata!);
      rows = checked[0]?.shape[0] ?? 0;
      return inferTensors(inst, checked, { signal, headers });
    });
    fwd.release();
    gw.metrics.queued(deployment, fwd.queueMs);
    outcome = 'ok';
    return fwd.value;
  } catch (e) {
    outcome = signal.aborted ? 'aborted' : e instanceof ApiError && e.status < 500 ? 'rejected' : 'error';
    throw e;
  } finally {
    leave();
    const ms = performance.now() - t0;
    gw.history.recordEnd({
      model: deployment,
      at,
      promptTokens: rows,
      outputTokens: 0,
      ttftMs: outcome === 'ok' ? ms : null,
      outcome,
    });
  }
}
