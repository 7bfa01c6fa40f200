import { ApiError } from '../errors/index.ts';
import type { TensorMetadata } from '../instances/index.ts';
import type { TensorBody } from '../upstream/index.ts';

/** An input tensor as the Open Inference Protocol sends it. */
export interface V2InputTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown;
  parameters?: Record<string, unknown>;
}

const bad = (message: string, param: string) => new ApiError('invalid_tensor', message, { param });

/**
 * Deepest nesting a tensor's data may have. A body of nothing but brackets is valid JSON; walking it
 * unbounded overflowed the stack (a 500) at a few thousand levels.
 */
export const MAX_TENSOR_RANK = 32;

/** Largest finite FP32 value: a larger number would reach the model as Infinity. */
const FP32_MAX = 3.4028234663852886e38;

/**
 * Flattens nested arrays (the protocol allows row-major nesting); null when something is not a number
 * or the nesting is deeper than MAX_TENSOR_RANK.
 */
export function flattenNumbers(data: unknown): number[] | null {
  const out: number[] = [];
  const walk = (v: unknown, depth: number): boolean => {
    if (typeof v === 'number' && Number.isFinite(v)) {
      out.push(v);
      return true;
    }
    if (Array.isArray(v) && depth < MAX_TENSOR_RANK) return v.every((x) => walk(x, depth + 1));
    return false;
  };
  return walk(data, 0) ? out : null;
}

/**
 * Checks each input against the model's declared tensors (names, datatype, rank, fixed dimensions, element
 * count, batch size) and returns them flat. Every refusal names the tensor and says what was expected.
 */
export function checkInputs(
  inputs: unknown,
  declared: readonly TensorMetadata[],
  maxBatchSize: number,
): TensorBody[] {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw bad("'inputs' must be a non-empty array of { name, shape, datatype, data }", 'inputs');
  }
  const seen = new Set<string>();
  const out: TensorBody[] = [];
  let batch: number | null = null;
  for (const [i, raw] of (inputs as unknown[]).entries()) {
    const t = raw as Partial<V2InputTensor> | null;
    const at = `inputs.${i}`;
    if (!t || typeof t !== 'object' || typeof t.name !== 'string') throw bad(`${at} needs a 'name'`, at);
    const spec = declared.find((d) => d.name === t.name);
    if (!spec) {
      throw bad(
        `input '${t.name}' is not an input of this model; it takes ${declared.map((d) => `'${d.name}'`).join(', ')}`,
        `${at}.name`,
      );
    }
    if (seen.has(t.name)) throw bad(`input '${t.name}' is given twice`, `${at}.name`);
    seen.add(t.name);
    if (t.datatype !== spec.datatype) {
      throw bad(
        `input '${t.name}' must have datatype ${spec.datatype}, got ${String(t.datatype)}`,
        `${at}.datatype`,
      );
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`input '${t.name}' needs 'shape' as an array of non-negative integers`, `${at}.shape`);
    }
    if (shape.length !== spec.shape.length) {
      throw bad(
        `input '${t.name}' must have ${spec.shape.length} dimensions [${spec.shape.join(', ')}], got [${shape.join(', ')}]`,
        `${at}.shape`,
      );
    }
    for (let k = 0; k < shape.length; k++) {
      if (spec.shape[k]! >= 0 && shape[k] !== spec.shape[k]) {
        throw bad(
          `input '${t.name}' dimension ${k} must be ${spec.shape[k]}, got ${shape[k]} (shape [${spec.shape.join(', ')}], -1 is free)`,
          `${at}.shape`,
        );
      }
    }
    const rows = shape[0]!;
    if (rows < 1) throw bad(`input '${t.name}' has no rows`, `${at}.shape`);
    if (rows > maxBatchSize) {
      throw bad(`input '${t.name}' has ${rows} rows, the model takes at most ${maxBatchSize}`, `${at}.shape`);
    }
    if (batch !== null && rows !== batch)
      throw bad('all inputs must have the same number of rows', `${at}.shape`);
    batch = rows;
    const data = flattenNumbers(t.data);
    if (!data) throw bad(`input '${t.name}' data must be numbers (flat or nested arrays)`, `${at}.data`);
    if (spec.datatype === 'FP32' && data.some((v) => Math.abs(v) > FP32_MAX)) {
      throw bad(`input '${t.name}' has values outside the FP32 range (±${FP32_MAX})`, `${at}.data`);
    }
    const expected = shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw bad(
        `input '${t.name}' has ${data.length} values, shape [${shape.join(', ')}] needs ${expected}`,
        `${at}.data`,
      );
    }
    out.push({ name: t.name, shape, data });
  }
  const missing = declared.filter((d) => !seen.has(d.name));
  if (missing.length) throw bad(`missing input '${missing[0]!.name}'`, 'inputs');
  return out;
}

/** Outputs the request names must be the model's: one it lacks would otherwise answer as an empty list. */
export function checkRequestedOutputs(
  wanted: readonly string[] | null,
  declared: readonly TensorMetadata[],
): void {
  const unknown = wanted?.find((n) => !declared.some((d) => d.name === n));
  if (unknown === undefined) return;
  throw new ApiError(
    'invalid_request',
    `output '${unknown}' is not an output of this model; it has ${declared.map((d) => `'${d.name}'`).join(', ')}`,
    { param: 'outputs' },
  );
}
