import { Ajv, type JSONSchemaType } from 'ajv';

/** model.json: what travels with every model folder, written by py/export.py. */
export interface ModelManifest {
  format: 'warmgate-model/1';
  name: string;
  architecture: {
    type: 'decoder-only-transformer';
    vocab_size: number;
    context_length: number;
    d_model: number;
    n_layer: number;
    n_head: number;
    n_kv_head: number;
    head_dim: number;
    d_ff: number;
    norm_eps: number;
  };
  tokenizer: { type: 'byte'; vocab_size: number; eos_token_id: number };
  kv_layout: {
    type: 'paged';
    key: ['block', 'kv_head', 'head_dim', 'slot'];
    value: ['block', 'kv_head', 'slot', 'head_dim'];
    dtype: 'float32';
  };
  dtype: 'float32';
  files: Record<'engine' | 'weights', ManifestFile> &
    Partial<Record<'reference' | 'decode_contiguous' | 'golden', ManifestFile>>;
}

export interface ManifestFile {
  path: string;
  sha256: string;
}

const positive = { type: 'integer', minimum: 1 } as const;
const file = {
  type: 'object',
  required: ['path', 'sha256'],
  properties: {
    path: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const;

const schema: JSONSchemaType<ModelManifest> = {
  type: 'object',
  required: ['format', 'name', 'architecture', 'tokenizer', 'kv_layout', 'dtype', 'files'],
  properties: {
    format: { type: 'string', const: 'warmgate-model/1' },
    name: { type: 'string', minLength: 1 },
    architecture: {
      type: 'object',
      required: [
        'type',
        'vocab_size',
        'context_length',
        'd_model',
        'n_layer',
        'n_head',
        'n_kv_head',
        'head_dim',
        'd_ff',
        'norm_eps',
      ],
      properties: {
        type: { type: 'string', const: 'decoder-only-transformer' },
        vocab_size: positive,
        context_length: positive,
        d_model: positive,
        n_layer: positive,
        n_head: positive,
        n_kv_head: positive,
        head_dim: positive,
        d_ff: positive,
        norm_eps: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    tokenizer: {
      type: 'object',
      required: ['type', 'vocab_size', 'eos_token_id'],
      properties: {
        type: { type: 'string', const: 'byte' },
        vocab_size: positive,
        eos_token_id: { type: 'integer', minimum: 0 },
      },
    },
    kv_layout: {
      type: 'object',
      required: ['type', 'key', 'value', 'dtype'],
      properties: {
        type: { type: 'string', const: 'paged' },
        key: { type: 'array', const: ['block', 'kv_head', 'head_dim', 'slot'] } as never,
        value: { type: 'array', const: ['block', 'kv_head', 'slot', 'head_dim'] } as never,
        dtype: { type: 'string', const: 'float32' },
      },
    },
    dtype: { type: 'string', const: 'float32' },
    files: {
      type: 'object',
      required: ['engine', 'weights'],
      properties: {
        engine: file,
        weights: file,
        reference: { ...file, nullable: true },
        decode_contiguous: { ...file, nullable: true },
        golden: { ...file, nullable: true },
      },
    } as never,
  },
};

const validate = new Ajv({ allErrors: true }).compile(schema);

export type ManifestCheck = { ok: true; manifest: ModelManifest } | { ok: false; problems: string[] };

/** Schema plus the cross-field rules a schema cannot say. */
export function checkManifest(value: unknown): ManifestCheck {
  if (!validate(value)) {
    return {
      ok: false,
      problems: (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`),
    };
  }
  const a = value.architecture;
  const problems: string[] = [];
  if (a.n_head % a.n_kv_head !== 0)
    problems.push(`n_head (${a.n_head}) must be a multiple of n_kv_head (${a.n_kv_head})`);
  if (a.head_dim * a.n_head !== a.d_model)
    problems.push(`head_dim * n_head must equal d_model (${a.d_model})`);
  if (value.tokenizer.vocab_size !== a.vocab_size)
    problems.push('tokenizer.vocab_size must equal architecture.vocab_size');
  if (value.tokenizer.eos_token_id >= a.vocab_size)
    problems.push('tokenizer.eos_token_id must be below vocab_size');
  return problems.length ? { ok: false, problems } : { ok: true, manifest: value };
}
