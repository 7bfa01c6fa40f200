import { ApiError } from '../errors/index.ts';
import { checkInputs, flattenNumbers, MAX_TENSOR_RANK } from '../kserve/tensors.ts';
import type { OpenAISamplingFields } from '../openai/sampling-request.ts';
import type { InstanceMetadata } from '../instances/index.ts';
import type { TensorBody } from '../upstream/index.ts';

/** The body a generative function takes when its deployment declares no input schema. */
export const DEFAULT_GENERATIVE_SCHEMA = {
  type: 'object',
  required: ['prompt'],
  additionalProperties: false,
  properties: {
    prompt: { type: 'string' },
    max_tokens: { type: 'integer' },
    temperature: { type: 'number' },
    top_p: { type: 'number' },
    top_k: { type: 'integer' },
    n: { type: 'integer' },
    seed: { type: 'integer' },
    stop: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    stream: { type: 'boolean' },
  },
} as const;

/** The body a tensor function takes when its deployment declares no input schema. */
export const DEFAULT_TENSOR_SCHEMA = {
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    inputs: { type: 'object', minProperties: 1 },
    // A stateful model's sequence, as KServe v2's parameters name it.
    sequence_id: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
    sequence_start: { type: 'boolean' },
    sequence_end: { type: 'boolean' },
  },
} as const;

const SAMPLING_KEYS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'n', 'seed', 'stop', 'stream'] as const;

/** A generative function's prompt (the body's, or the deployment's template filled from the body) and sampling fields. */
export function generativeCall(
  body: Record<string, unknown>,
  promptTemplate: string | undefined,
): { prompt: string; fields: OpenAISamplingFields } {
  let prompt: string;
  if (promptTemplate) {
    prompt = promptTemplate.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, key: string) => {
      const v = body[key];
      if (v === undefined)
        throw new ApiError('invalid_request', `'${key}' is required by this function`, { param: key });
      return typeof v === 'string' ? v : templateValue(v, key);
    });
  } else if (typeof body.prompt === 'string') {
    prompt = body.prompt;
  } else {
    throw new ApiError('invalid_request', "'prompt' is required and must be a string", { param: 'prompt' });
  }
  const fields: Record<string, unknown> = {};
  for (const k of SAMPLING_KEYS) if (body[k] !== undefined) fields[k] = body[k];
  return { prompt, fields: fields as OpenAISamplingFields };
}

/** The shape of nested arrays, row-major; null when ragged or nested deeper than MAX_TENSOR_RANK. */
function shapeOf(v: unknown, depth = 0): number[] | null {
  if (!Array.isArray(v)) return [];
  if (depth >= MAX_TENSOR_RANK) return null;
  if (v.length === 0) return [0];
  const inner = v.map((x) => shapeOf(x, depth + 1));
  const first = inner[0];
  if (!first || inner.some((s) => s === null || s.join() !== first.join())) return null;
  return [v.length, ...first];
}

/** A tensor function's { inputs: { name: nested array } } as named tensors (shapes from the nesting). */
export function tensorInputs(inputs: Record<string, unknown>): TensorBody[] {
  return Object.entries(inputs).map(([name, value]) => {
    const shape = shapeOf(value);
    const data = flattenNumbers(value);
    if (!shape || !data || shape.length === 0) {
      throw new ApiError(
        'invalid_tensor',
        `input '${name}' must be a nested array of numbers with equal-length rows`,
        { param: `inputs.${name}` },
      );
    }
    return { name, shape, data };
  });
}

/**
 * A tensor function's inputs checked against the instance's declared tensors. The body names inputs by
 * key, so a refusal's param is `inputs.<name>`, not the position checkInputs reports.
 */
export function checkFunctionInputs(given: readonly TensorBody[], meta: InstanceMetadata): TensorBody[] {
  const declared = meta.inputs ?? [];
  const typed = given.map((t) => ({
    ...t,
    datatype: declared.find((s) => s.name === t.name)?.datatype ?? 'FP32',
  }));
  try {
    return checkInputs(typed, declared, meta.maxBatchSize ?? Number.MAX_SAFE_INTEGER);
  } catch (e) {
    const at = e instanceof ApiError ? /^inputs\.(\d+)/.exec(e.param ?? '') : null;
    if (!at) throw e;
    const { code, message } = e as ApiError;
    throw new ApiError(code, message, { param: `inputs.${given[Number(at[1])]!.name}` });
  }
}

/** A flat row-major array back into nesting of the given shape. */
export function nest(data: readonly number[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return [...data];
  const step = data.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) =>
    nest(data.slice(i * step, (i + 1) * step), shape.slice(1)),
  );
}

/** A non-string value as template text: its JSON. Nesting too deep to serialize is the caller's to fix. */
function templateValue(v: unknown, key: string): string {
  try {
    return JSON.stringify(v);
  } catch {
    throw new ApiError('invalid_request', `'${key}' is nested too deeply to fill the prompt template`, {
      param: key,
    });
  }
}
