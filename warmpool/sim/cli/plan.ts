import { POLICIES, policyNamed } from '../../policies/index.ts';
import { ARRANGEMENTS } from '../adapters/arrangements.ts';
import type { SimJob } from '../jobs/types.ts';

/**
 * The jobs of a run: each policy with the run's knobs, and with `sweep` also at every value of its
 * swept knob (Policy.knob) for the Pareto curve; with `adapters`, each of those in both arrangements
 * (one pool per adapter, then adapters over one base). Unknown policy names throw a RangeError listing them.
 */
export function planJobs(
  policies: readonly string[] | 'all',
  knobs: Readonly<Record<string, number>>,
  sweep: boolean,
  adapters = false,
): SimJob[] {
  // `all` leaves out `tuned`: it runs six simulations of each deployment's last hour every ten minutes,
  // hours for a day of a thousand deployments; naming it runs it.
  const names = policies === 'all' ? Object.keys(POLICIES).filter((n) => n !== 'tuned') : policies;
  const jobs: SimJob[] = [];
  for (const name of names) {
    const policy = policyNamed(name);
    jobs.push({ policy: policy.name, knobs: { ...knobs } });
    if (!sweep) continue;
    for (const value of policy.knob.values)
      jobs.push({
        policy: policy.name,
        knobs: { ...knobs, [policy.knob.name]: value },
        swept: { name: policy.knob.name, value },
      });
  }
  return adapters ? jobs.flatMap((j) => ARRANGEMENTS.map((arrangement) => ({ ...j, arrangement }))) : jobs;
}
