import { type SamplingParams, validateSamplingParams } from '../../runtime/engine/index.ts';

type SamplingLimits = Parameters<typeof validateSamplingParams>[1];
type Result = ReturnType<typeof validateSamplingParams>;

/** The numeric sampling fields the gateway sends the engine (stop and seed apart). */
export interface NumericSampling {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly n: number;
  readonly logprobs: number;
  readonly maxTokens: number;
  readonly stop: readonly string[];
  readonly seed?: number;
}

/** Distinct inputs remembered per limits; past it the memo starts again (a bound, not an LRU). */
const MAX_ENTRIES = 1024;

/**
 * validateSamplingParams, remembered per (frozen) limits object and input: it is pure, its answer is frozen, and
 * requests mostly repeat a few settings, while it cost about 2% of a proxied request's CPU. Only inputs
 * without stop strings are remembered, and only valid ones (a refusal is computed each time).
 */
export class SamplingParamsMemo {
  readonly #byLimits = new WeakMap<SamplingLimits, Map<string, SamplingParams>>();

  validate(input: NumericSampling, limits: SamplingLimits): Result {
    // A frozen limits object is one remembered per model (see engineLimits); any other may be per request.
    const key = input.stop.length === 0 && Object.isFrozen(limits) ? keyOf(input) : null;
    if (key === null) return validateSamplingParams(input, limits);
    let memo = this.#byLimits.get(limits);
    const hit = memo?.get(key);
    if (hit !== undefined) return { ok: true, params: hit };
    const r = validateSamplingParams(input, limits);
    if (r.ok) {
      if (memo === undefined) this.#byLimits.set(limits, (memo = new Map()));
      if (memo.size >= MAX_ENTRIES) memo.clear();
      memo.set(key, r.params);
    }
    return r;
  }
}

function keyOf(i: NumericSampling): string | null {
  const { temperature: t, topP: p, topK: k, n, logprobs: l, maxTokens: m, seed: s } = i;
  if (
    typeof t !== 'number' ||
    typeof p !== 'number' ||
    typeof k !== 'number' ||
    typeof n !== 'number' ||
    typeof l !== 'number' ||
    typeof m !== 'number' ||
    (s !== undefined && typeof s !== 'number')
  ) {
    return null;
  }
  return `${t},${p},${k},${n},${l},${m},${s ?? ''}`;
}
