import type { SimJob } from './types.ts';

/** A job as a person names it: the policy, and the arrangement in adapters mode. */
export function jobLabel(job: SimJob): string {
  return job.arrangement === undefined ? job.policy : `${job.policy} ${job.arrangement}`;
}
