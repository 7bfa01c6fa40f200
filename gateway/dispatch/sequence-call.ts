import type { ClientSignal } from '../http/client-signal.ts';
import { ApiError } from '../errors/index.ts';
import type { UpstreamInstance } from '../instances/index.ts';
import { RetryableUpstreamError } from '../upstream/index.ts';
import type { GatewayContext } from './context.ts';

/**
 * A request that continues a sequence goes to the instance that holds its state, and nowhere else: on
 * another instance it would start from a zero state and answer wrong numbers with a 200. When that
 * instance is gone (removed, unreachable, draining) the answer is sequence_lost; when the gateway holds
 * no pin for the sequence, sequence_not_started. Other failures of the instance answer as usual.
 */
export async function callPinned<T>(
  gw: GatewayContext,
  deployment: string,
  id: string,
  signal: ClientSignal,
  call: (inst: UpstreamInstance) => Promise<T>,
): Promise<T> {
  const place = await gw.sequences.where(deployment, id);
  if (place.kind === 'unknown') {
    throw new ApiError(
      'sequence_not_started',
      `sequence ${id} is not open: it was never started, it ended, or it was idle too long; send sequence_start: true with its first input`,
      { param: 'sequence_start' },
    );
  }
  const lost = (why: string) =>
    new ApiError(
      'sequence_lost',
      `sequence ${id} was lost: the instance that held its state (${place.instanceId}) ${why}; start it again from its first input`,
      { param: 'sequence_id' },
    );
  const inst = gw.registry.instances(deployment).find((i) => i.id === place.instanceId);
  if (!inst) throw lost('is gone');
  gw.registry.startRequest(inst);
  try {
    return await call(inst);
  } catch (e) {
    if (signal.aborted || !(e instanceof RetryableUpstreamError)) throw e;
    if (e.status === null) {
      gw.registry.markFailed(inst, false); // out of routing for new sequences until a poll says otherwise
      throw lost('does not answer');
    }
    if (e.draining) throw lost('is draining');
    throw new ApiError(
      'upstream_failed',
      `the instance holding sequence ${id} failed the step: ${e.message}`,
    );
  } finally {
    gw.registry.endRequest(inst);
  }
}
