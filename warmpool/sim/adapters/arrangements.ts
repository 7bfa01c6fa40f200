import type { DeploymentTrace, Trace } from '../trace/types.ts';
import { mergeRequests } from './merge-requests.ts';

/**
 * The two ways to serve a trace's functions as LoRA adapters of one base model. `per-adapter`: each
 * adapter a deployment of its own, its own pool of base-model instances with the adapter in (the
 * simulator without adapters). `over-base`: one pool of the base model, scaled from the summed demand,
 * whose instances load each request's adapter.
 */
export type Arrangement = 'per-adapter' | 'over-base';
export const ARRANGEMENTS: readonly Arrangement[] = ['per-adapter', 'over-base'];

/** The trace's functions as `count` adapters: function i (in trace order) is adapter i mod count. */
export function adapterGroups(trace: Trace, count: number): DeploymentTrace[][] {
  const n = Math.min(count, trace.deployments.length);
  const groups: DeploymentTrace[][] = Array.from({ length: n }, () => []);
  trace.deployments.forEach((d, i) => groups[i % n]!.push(d));
  return groups;
}

/**
 * The trace as one deployment per adapter. A function alone in its adapter keeps its name, so its
 * requests are drawn exactly as without adapters; functions sharing one are merged as `adapter-K`.
 * Every pool takes the run's cold start and slots (the base model's), not a trace's own.
 */
export function perAdapterTrace(trace: Trace, count: number): Trace {
  const deployments = adapterGroups(trace, count).map((g, k) =>
    g.length === 1 ? alone(g[0]!) : merged(`adapter-${k}`, g),
  );
  return { ...trace, deployments };
}

/** The trace as one base-model deployment named `base`: every function's requests, tagged with its adapter. */
export function overBaseTrace(trace: Trace, count: number): Trace {
  const groups = adapterGroups(trace, count);
  const members = groups.flat();
  const adapterOf = groups.flatMap((g, k) => g.map(() => k));
  return { ...trace, deployments: [merged('base', members, adapterOf)] };
}

/** Deployments as one: the requests merged in arrival order, the mean service time weighted by requests. */
function merged(
  name: string,
  members: readonly DeploymentTrace[],
  adapterOf?: readonly number[],
): DeploymentTrace {
  const requests = members.reduce((s, d) => s + d.requests, 0);
  const weighted = members.reduce((s, d) => s + d.meanServiceMs * d.requests, 0);
  return {
    name,
    requests,
    meanServiceMs: requests > 0 ? weighted / requests : members[0]!.meanServiceMs,
    requestsFor: (seed) =>
      mergeRequests(
        members.map((d) => d.requestsFor(seed)),
        adapterOf,
      ),
  };
}

/** A function alone in its adapter, as the trace has it but for a cold start or slots of its own. */
function alone(d: DeploymentTrace): DeploymentTrace {
  return {
    name: d.name,
    requests: d.requests,
    meanServiceMs: d.meanServiceMs,
    requestsFor: (seed) => d.requestsFor(seed),
  };
}
