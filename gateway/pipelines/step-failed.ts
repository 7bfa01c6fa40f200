import { ApiError } from '../errors/index.ts';

/**
 * A step's failure as the pipeline's answer: the step's own code and status (a 4xx is still the
 * caller's to fix, a 5xx still the platform's), its message led by the step's name, its param under
 * `steps.<id>`. An error that is not an ApiError is a bug: internal_error, the step still named.
 */
export function stepFailed(pipeline: string, id: string, deployment: string, e: unknown): ApiError {
  const at = `pipeline '${pipeline}' step '${id}' (deployment '${deployment}')`;
  if (!(e instanceof ApiError))
    return new ApiError('internal_error', `${at} failed: ${(e as Error).message}`);
  return new ApiError(e.code, `${at} failed: ${e.message}`, {
    param: e.param === null ? `steps.${id}` : `steps.${id}.${e.param}`,
    ...(e.retryAfter !== null && { retryAfter: e.retryAfter }),
  });
}
