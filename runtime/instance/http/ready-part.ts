import { ApiError } from '../../errors/index.ts';
import type { RuntimeInstance } from '../instance.ts';

/** The engine or batcher a request needs, or engine_draining while the instance is not ready for work. */
export function readyPart<T>(inst: RuntimeInstance, part: T | null): T {
  if (inst.state !== 'ready' || part === null) {
    throw new ApiError('engine_draining', `instance is ${inst.state}`);
  }
  return part;
}
