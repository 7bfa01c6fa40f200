import type { Policy, PolicyInput } from './types.ts';
import { clampInstances, instancesFor } from './capacity.ts';

const DEFAULT_KEEP_ALIVE_MS = 10 * 60_000;

/**
 * Fixed keep-alive, as AWS Lambda and Azure Functions do it: capacity follows the requests in flight
 * and stays for `keepAliveMs` after the last arrival, then goes (to minInstances). Nothing is started
 * ahead of demand. Knob: `keepAliveMs` (default 10 minutes).
 */
export const keepalive: Policy = {
  name: 'keepalive',
  knob: {
    name: 'keepAliveMs',
    values: [60_000, 2 * 60_000, 5 * 60_000, 10 * 60_000, 20 * 60_000, 60 * 60_000],
  },
  decide({ config, history, pool, now }: PolicyInput) {
    const keepAliveMs = config.knobs?.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    const needed = instancesFor(pool.inFlight + pool.queued, config);
    const last = history.lastArrivalAt;
    if (last !== undefined && now - last < keepAliveMs) {
      const desired = clampInstances(Math.max(needed, pool.instances, 1), config);
      return {
        desired,
        reason: `keep-alive: last arrival ${now - last} ms ago < ${keepAliveMs} ms; holding ${desired}`,
      };
    }
    const desired = clampInstances(needed, config);
    return {
      desired,
      reason: `keep-alive expired (last arrival ${last === undefined ? 'never' : `${now - last} ms ago`}); ${desired} for ${pool.inFlight + pool.queued} in flight`,
    };
  },
};
