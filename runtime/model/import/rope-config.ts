import type { RopeSettings } from '../architecture.ts';
import type { ConfigFields } from './config-fields.ts';
import { ImportError, shown } from './import-error.ts';

const LLAMA3_FIELDS = [
  'factor',
  'low_freq_factor',
  'high_freq_factor',
  'original_max_position_embeddings',
] as const;

/**
 * RoPE's settings in either config style: transformers v5's `rope_parameters` (theta, type and scaling
 * together) or v4's `rope_theta` plus `rope_scaling`. Plain RoPE and Llama 3's scaling are imported;
 * other scalings (linear, dynamic, yarn, longrope...) change the frequencies and are refused.
 */
export function readRope(f: ConfigFields): RopeSettings {
  const v5 = f.raw('rope_parameters');
  const v4Scaling = f.raw('rope_scaling');
  const topTheta = f.raw('rope_theta');
  let field: string;
  let params: Record<string, unknown>;
  if (v5 !== undefined) {
    field = 'rope_parameters';
    params = asObject(f, field, v5);
    if (v4Scaling !== undefined) {
      throw f.invalid('rope_scaling', v4Scaling, 'absent when rope_parameters is set (keep one style)');
    }
    if (params.rope_theta === undefined && topTheta !== undefined) params.rope_theta = topTheta;
  } else {
    field = 'rope_scaling';
    params = v4Scaling === undefined ? {} : asObject(f, field, v4Scaling);
    params.rope_theta = topTheta;
  }
  if (topTheta !== undefined && params.rope_theta !== topTheta) {
    throw f.invalid(
      'rope_theta',
      topTheta,
      `the same value as ${field}.rope_theta (${shown(params.rope_theta)})`,
    );
  }
  const type = params.rope_type ?? params.type ?? 'default';
  const typeField = `${field}.${params.rope_type !== undefined ? 'rope_type' : 'type'}`;
  if (type !== 'default' && type !== 'llama3') {
    throw f.unsupported(
      typeField,
      type,
      "warmgate imports plain RoPE ('default') and Llama 3's scaling ('llama3'); this scaling computes other frequencies",
    );
  }
  const theta = params.rope_theta ?? 10000;
  if (typeof theta !== 'number' || !(theta > 0)) {
    throw f.invalid(`${field}.rope_theta`, theta, 'a positive number');
  }
  const known = new Set(['rope_type', 'type', 'rope_theta', ...(type === 'llama3' ? LLAMA3_FIELDS : [])]);
  for (const [key, value] of Object.entries(params)) {
    if (known.has(key) || value === null || value === undefined) continue;
    // Whole-head rotation is what every imported family does; 1.0 says so explicitly.
    if (key === 'partial_rotary_factor' && value === 1) continue;
    throw f.unsupported(
      `${field}.${key}`,
      value,
      `not a setting of RoPE type '${String(type)}' that warmgate knows; it may change the frequencies, so the import stops`,
    );
  }
  if (type === 'default') return { theta };
  const llama3 = Object.fromEntries(
    LLAMA3_FIELDS.map((key) => {
      const value = params[key];
      if (typeof value !== 'number' || !(value > 0)) {
        throw f.invalid(`${field}.${key}`, value, 'a positive number (rope type llama3 needs it)');
      }
      return [key, value];
    }),
  ) as Required<RopeSettings>['llama3'];
  if (llama3.high_freq_factor <= llama3.low_freq_factor) {
    throw f.invalid(
      `${field}.high_freq_factor`,
      llama3.high_freq_factor,
      `a number above low_freq_factor (${llama3.low_freq_factor})`,
    );
  }
  return { theta, llama3 };
}

function asObject(f: ConfigFields, field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImportError('config_invalid', `${f.file}: "${field}" is ${shown(value)}, expected an object`);
  }
  return { ...(value as Record<string, unknown>) };
}
