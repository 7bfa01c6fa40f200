import type { ClientSignal } from '../http/client-signal.ts';
import { ApiError } from '../errors/index.ts';
import type { Outcome } from '../request-history/index.ts';
import type { InstanceMetadata, UpstreamInstance } from '../instances/index.ts';
import {
  inferTensors,
  type InferResponseBody,
  type SequenceBody,
  type TensorBody,
} from '../upstream/index.ts';
import type { GatewayContext } from './context.ts';
import { forward } from './forward.ts';
import { callPinned } from './sequence-call.ts';
import { hasVersions } from '../deployments/index.ts';
import { chooseVersion, type VersionChoice } from '../rollouts/index.ts';

/**
 * One tensor inference: the model's slot and queue, routing by load, the inputs checked against the
 * chosen instance's declared tensors, the call (batched with others at the instance), history recorded.
 * A stateful model's request carries its `sequence`: a start is routed by load and pins the sequence to
 * the instance that takes it; the sequence's later requests go to that instance (sequence-call.ts).
 * A deployment with versions runs on the version `chosen` by the route, else on the split's choice for
 * an anonymous client; a sequence stays in the pool of the version that started it.
 */
export async function callTensorModel(
  gw: GatewayContext,
  deployment: string,
  inputs: (meta: InstanceMetadata) => TensorBody[],
  signal: ClientSignal,
  sequence: SequenceBody | null = null,
  chosen?: VersionChoice,
): Promise<InferResponseBody> {
  const at = gw.clock.now();
  const t0 = performance.now();
  const spec = gw.deployments.get(deployment);
  const { pool } =
    chosen ??
    (spec === undefined
      ? { pool: deployment, version: 1 }
      : chooseVersion(spec, undefined, null, (p) => gw.registry.routable(p).length > 0));
  const gate = gw.gate(deployment, pool);
  const leave = gate.enter();
  // Counted now, as a generation's arrival is (generation.ts says why); the rest when it ends.
  gw.history.recordArrival(deployment, at);
  let outcome: Outcome = 'error';
  let rows = 0;
  const send = async (inst: UpstreamInstance, headers: Record<string, string>) => {
    const meta = inst.metadata!;
    checkSequence(meta, sequence);
    const checked = inputs(meta);
    rows = checked[0]?.shape[0] ?? 0;
    // Pinned before it is sent, so that the sequence's next request, however soon and through whichever
    // replica, follows it.
    if (sequence?.start) await gw.sequences.pin(pool, sequence.id, inst.id, meta.sequence!.idleTimeoutMs);
    return inferTensors(inst, checked, { signal, headers }, sequence ?? undefined);
  };
  try {
    let value: InferResponseBody;
    if (sequence && !sequence.start) {
      value = await callPinned(gw, pool, sequence.id, signal, (inst) => send(inst, {}));
    } else {
      const fwd = await forward(gw, gate, { pool, prompt: null }, signal, send);
      fwd.release();
      gw.metrics.queued(deployment, fwd.queueMs);
      value = fwd.value;
    }
    if (sequence?.end) await gw.sequences.unpin(pool, sequence.id);
    outcome = 'ok';
    return value;
  } catch (e) {
    // A start that failed opened nothing; a step the instance says is not open is not open anywhere.
    if (sequence && (sequence.start || (e instanceof ApiError && e.code === 'sequence_not_started')))
      await gw.sequences.unpin(pool, sequence.id);
    outcome = signal.aborted ? 'aborted' : e instanceof ApiError && e.status < 500 ? 'rejected' : 'error';
    throw e;
  } finally {
    leave();
    const ms = performance.now() - t0;
    // Only deployments with versions: the figures serve the canary analysis and GET .../rollout.
    if (spec !== undefined && hasVersions(spec) && (outcome === 'ok' || outcome === 'error'))
      gw.versionStats?.note(pool, gw.clock.now(), outcome === 'error', outcome === 'ok' ? ms : null);
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

/** A stateful model's requests name their sequence; a stateless model's name none. */
function checkSequence(meta: InstanceMetadata, sequence: SequenceBody | null): void {
  if (meta.sequence && !sequence) {
    throw new ApiError(
      'invalid_request',
      'this model keeps state per sequence: send sequence_id, with sequence_start on its first request and sequence_end on its last',
      { param: 'sequence_id' },
    );
  }
  if (!meta.sequence && sequence)
    throw new ApiError('invalid_request', 'this model keeps no state: send no sequence_id', {
      param: 'sequence_id',
    });
}
