/** How one request wants its tokens chosen; validated once at admission, then frozen. */
export interface SamplingParams {
  /** 0 means greedy (argmax); otherwise logits are divided by it before softmax. */
  readonly temperature: number;
  /** Keep only the k most likely tokens; 0 turns it off. */
  readonly topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches topP; 1 turns it off. */
  readonly topP: number;
  /** Present means reproducible: sample i of the request draws from `Rng.fromSeed(seed, i)`. */
  readonly seed?: number;
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** Independent samples to generate for the prompt. */
  readonly n: number;
  /** Number of top alternatives to report with each token; 0 turns logprobs off. */
  readonly logprobs: number;
  /** Keep generating past end-of-text: the sampler never picks the EOS token. */
  readonly ignoreEos?: boolean;
}

/** Bounds that come from the model and the deployment, not from the request. */
export interface SamplingLimits {
  readonly vocabSize: number;
  readonly maxN: number;
  readonly maxStop: number;
  /** Longest stop string, in UTF-16 code units (string length). */
  readonly maxStopLength: number;
  readonly maxTokens: number;
}

const MAX_TEMPERATURE = 2;
const MAX_LOGPROBS = 20;

/** `maxTokens` is further capped at `limits.maxTokens` when the request leaves it out. */
export const DEFAULT_SAMPLING_PARAMS: SamplingParams = Object.freeze({
  temperature: 1,
  topK: 0,
  topP: 1,
  maxTokens: 256,
  stop: Object.freeze([]) as readonly string[],
  n: 1,
  logprobs: 0,
  ignoreEos: false,
});

export type SamplingParamsResult =
  | { readonly ok: true; readonly params: SamplingParams }
  | { readonly ok: false; readonly field: string; readonly message: string };

type Failure = { readonly ok: false; readonly field: string; readonly message: string };

const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'temperature',
  'topK',
  'topP',
  'seed',
  'maxTokens',
  'stop',
  'n',
  'logprobs',
  'ignoreEos',
]);

/**
 * Checks a request's sampling fields (camelCase; `undefined` or `null` = default) against the limits. Unknown
 * keys are rejected so that a misspelt option fails loudly instead of being silently ignored.
 */
export function validateSamplingParams(input: unknown, limits: SamplingLimits): SamplingParamsResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail('', `sampling params must be an object, got ${describe(input)}`);
  }
  const fields = input as Record<string, unknown>;
  for (const key in fields) {
    if (Object.hasOwn(fields, key) && !KNOWN_FIELDS.has(key)) {
      return fail(key, `${key} is not a sampling parameter; allowed: ${[...KNOWN_FIELDS].join(', ')}`);
    }
  }
  // JSON clients send null for "not set"; treat it exactly like an absent key. Read in place, without a
  // copy of the input: this runs for every request, at the gateway and again at the instance.
  const raw = (key: keyof SamplingParams): unknown =>
    Object.hasOwn(fields, key) ? (fields[key] ?? undefined) : undefined;
  const d = DEFAULT_SAMPLING_PARAMS;
  const temperature = raw('temperature') ?? d.temperature;
  const topK = raw('topK') ?? d.topK;
  const topP = raw('topP') ?? d.topP;
  const seed = raw('seed');
  const maxTokens = raw('maxTokens') ?? Math.min(d.maxTokens, limits.maxTokens);
  const stopIn = raw('stop');
  const n = raw('n') ?? d.n;
  const logprobs = raw('logprobs') ?? d.logprobs;
  const ignoreEos = raw('ignoreEos');
  const maxLogprobs = Math.min(MAX_LOGPROBS, limits.vocabSize);

  const failure =
    checkRange('temperature', temperature, 0, MAX_TEMPERATURE, false, ' (0 means greedy)') ??
    checkRange('topK', topK, 0, limits.vocabSize, true, ' (0 turns it off)') ??
    checkTopP(topP) ??
    checkSeed(seed) ??
    checkRange('maxTokens', maxTokens, 1, limits.maxTokens, true, '') ??
    checkStop(stopIn, limits) ??
    checkRange('n', n, 1, limits.maxN, true, '') ??
    checkRange('logprobs', logprobs, 0, maxLogprobs, true, ' (0 turns it off)') ??
    checkIgnoreEos(ignoreEos);
  if (failure) return failure;

  const stops = stopIn as string[] | undefined;
  const params: { -readonly [K in keyof SamplingParams]: SamplingParams[K] } = {
    temperature: temperature as number,
    topK: topK as number,
    topP: topP as number,
    maxTokens: maxTokens as number,
    stop: stops === undefined || stops.length === 0 ? d.stop : Object.freeze(stops.slice()),
    n: n as number,
    logprobs: logprobs as number,
    ignoreEos: (ignoreEos as boolean | undefined) ?? false,
  };
  if (seed !== undefined) params.seed = seed as number;
  return { ok: true, params: Object.freeze(params) };
}

function checkRange(
  field: string,
  value: unknown,
  min: number,
  max: number,
  integer: boolean,
  hint: string,
): Failure | undefined {
  const kind = integer ? 'an integer' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    return fail(field, `${field} must be ${kind} between ${min} and ${max}${hint}, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    return fail(field, `${field} must be between ${min} and ${max}${hint}, got ${value}`);
  }
  return undefined;
}

function checkTopP(value: unknown): Failure | undefined {
  if (typeof value === 'number' && value > 0 && value <= 1) return undefined;
  return fail(
    'topP',
    `topP must be a number greater than 0 and at most 1 (1 turns it off), got ${describe(value)}`,
  );
}

function checkSeed(value: unknown): Failure | undefined {
  if (value === undefined || Number.isSafeInteger(value)) return undefined;
  return fail('seed', `seed must be an integer between -(2^53 - 1) and 2^53 - 1, got ${describe(value)}`);
}

function checkStop(value: unknown, limits: SamplingLimits): Failure | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return fail('stop', `stop must be an array of strings, got ${describe(value)}`);
  if (value.length > limits.maxStop) {
    return fail('stop', `stop may hold at most ${limits.maxStop} strings, got ${value.length}`);
  }
  for (let i = 0; i < value.length; i++) {
    const s: unknown = value[i];
    if (typeof s !== 'string' || s.length === 0 || s.length > limits.maxStopLength) {
      return fail(
        'stop',
        `stop[${i}] must be a non-empty string of at most ${limits.maxStopLength} characters, got ${describe(s)}`,
      );
    }
  }
  return undefined;
}

function checkIgnoreEos(value: unknown): Failure | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  return fail('ignoreEos', `ignoreEos must be true or false, got ${describe(value)}`);
}

function fail(field: string, message: string): Failure {
  return { ok: false, field, message };
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
