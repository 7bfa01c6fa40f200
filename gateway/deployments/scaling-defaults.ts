/**
 * What a deployment's `scaling` holds when it leaves a field out (README: Deployments). A user decides
 * the name, the kind and the model; the rest has a default that suits a serverless function:
 */
export const SCALING_DEFAULTS = {
  /** Scales to zero when idle: no instance is held for a deployment nobody calls. */
  minInstances: 0,
  /** Room to scale out on one host; a larger minInstances raises it to minInstances. */
  maxInstances: 4,
  /** No idle instance beyond what the demand (or the policy's forecast) needs. */
  warmBuffer: 0,
  /** Five idle minutes: far cheaper than a cold start each time a bursty caller comes back. */
  keepAliveMs: 300_000,
  /** An interactive first token: the capacity per instance is measured against this. */
  ttftSloMs: 1000,
} as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A copy of a deployment as received, with the scaling fields it left out (or all of `scaling`) set to
 * their defaults. Anything that is not an object is returned as it is, for the schema to refuse.
 */
export function withScalingDefaults(value: unknown): unknown {
  if (!isObject(value)) return value;
  const given = value.scaling === undefined ? {} : value.scaling;
  if (!isObject(given)) return value;
  // Only a field left out gets its default; a null stays, for the schema to refuse.
  const scaling: Record<string, unknown> = { ...given };
  for (const [field, fallback] of Object.entries(SCALING_DEFAULTS))
    if (scaling[field] === undefined) scaling[field] = fallback;
  // A maxInstances below a given minInstances would refuse a spec that only asked for more instances.
  const min = given.minInstances;
  if (given.maxInstances === undefined && typeof min === 'number' && min > SCALING_DEFAULTS.maxInstances)
    scaling.maxInstances = min;
  return { ...value, scaling };
}
