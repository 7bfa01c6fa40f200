import { Ajv, type JSONSchemaType } from 'ajv';
import type { Architecture } from './architecture.ts';

/**
 * model.json: what travels with every model folder. Written by py/export.py for warmgate's own models
 * (byte tokenizer) and by the importer for Hugging Face checkpoints (their tokenizer and chat template).
 */
export interface ModelManifest {
  format: 'warmgate-model/1';
  name: string;
  architecture: Architecture;
  tokenizer: ByteTokenizerSpec | HfTokenizerSpec;
  kv_layout: {
    type: 'paged';
    key: ['block', 'kv_head', 'head_dim', 'slot'];
    value: ['block', 'kv_head', 'slot', 'head_dim'];
    dtype: 'float32';
  };
  /** The weights' storage: fp32, fp16 (computed in fp32) or int4 weight-only (MatMulNBits). */
  dtype: ModelDtype;
  /** The checkpoint's default sampling (generation_config.json), used where a request sets none. */
  generation?: { temperature?: number; top_p?: number; top_k?: number };
  /** Where an imported model came from, and what the importer changed (e.g. a context capped). */
  source?: { format: 'huggingface'; model_type: string; notes: string[] };
  files: Record<'engine' | 'weights', ManifestFile> &
    Partial<
      Record<
        'reference' | 'decode_contiguous' | 'golden' | 'tokenizer' | 'tokenizer_config' | 'chat_template',
        ManifestFile
      >
    >;
}

export type ModelDtype = 'float32' | 'float16' | 'int4';

/** warmgate's own byte-level tokenizer: ids 0..255 are bytes, `eos_token_id` ends text. */
export interface ByteTokenizerSpec {
  type: 'byte';
  vocab_size: number;
  eos_token_id: number;
}

/** A Hugging Face tokenizer.json (files.tokenizer, with files.tokenizer_config when the checkpoint has one). */
export interface HfTokenizerSpec {
  type: 'huggingface';
  vocab_size: number;
  /** The first of `eos_token_ids`: the id the engine appends nowhere, kept for one-eos callers. */
  eos_token_id: number;
  /** Every id that ends generation (generation_config.json's list, e.g. Llama 3's <|eot_id|> too). */
  eos_token_ids: number[];
  bos_token_id: number | null;
}

export interface ManifestFile {
  path: string;
  sha256: string;
}

const positive = { type: 'integer', minimum: 1 } as const;
const flag = { type: 'boolean', nullable: true } as const;
const file = {
  type: 'object',
  required: ['path', 'sha256'],
  properties: {
    path: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const;
const optionalFile = { ...file, nullable: true };
const id = { type: 'integer', minimum: 0 } as const;

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
        norm: { type: 'string', enum: ['layernorm', 'rmsnorm'], nullable: true },
        position: { type: 'string', enum: ['learned', 'rope'], nullable: true },
        rope: {
          type: 'object',
          nullable: true,
          required: ['theta'],
          properties: {
            theta: { type: 'number', exclusiveMinimum: 0 },
            dim: { ...positive, nullable: true },
            llama3: {
              type: 'object',
              nullable: true,
              required: ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'],
              properties: {
                factor: { type: 'number', exclusiveMinimum: 0 },
                low_freq_factor: { type: 'number', exclusiveMinimum: 0 },
                high_freq_factor: { type: 'number', exclusiveMinimum: 0 },
                original_max_position_embeddings: positive,
              },
            },
          },
        },
        mlp: { type: 'string', enum: ['gelu', 'gelu_tanh', 'swiglu'], nullable: true },
        qkv_bias: flag,
        o_bias: flag,
        mlp_bias: flag,
        tied_embeddings: flag,
      },
    },
    tokenizer: {
      type: 'object',
      required: ['type', 'vocab_size', 'eos_token_id'],
      oneOf: [
        {
          properties: { type: { const: 'byte' } },
        },
        {
          required: ['eos_token_ids', 'bos_token_id'],
          properties: { type: { const: 'huggingface' } },
        },
      ],
      properties: {
        type: { type: 'string', enum: ['byte', 'huggingface'] },
        vocab_size: positive,
        eos_token_id: id,
        eos_token_ids: { type: 'array', items: id, minItems: 1, nullable: true },
        bos_token_id: { ...id, nullable: true },
      },
    } as never,
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
    dtype: { type: 'string', enum: ['float32', 'float16', 'int4'] },
    generation: {
      type: 'object',
      nullable: true,
      required: [],
      properties: {
        temperature: { type: 'number', minimum: 0, nullable: true },
        top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1, nullable: true },
        top_k: { type: 'integer', minimum: 0, nullable: true },
      },
    },
    source: {
      type: 'object',
      nullable: true,
      required: ['format', 'model_type', 'notes'],
      properties: {
        format: { type: 'string', const: 'huggingface' },
        model_type: { type: 'string' },
        notes: { type: 'array', items: { type: 'string' } },
      },
    },
    files: {
      type: 'object',
      required: ['engine', 'weights'],
      properties: {
        engine: file,
        weights: file,
        reference: optionalFile,
        decode_contiguous: optionalFile,
        golden: optionalFile,
        tokenizer: optionalFile,
        tokenizer_config: optionalFile,
        chat_template: optionalFile,
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
  const t = value.tokenizer;
  const problems: string[] = [];
  if (a.n_head % a.n_kv_head !== 0)
    problems.push(`n_head (${a.n_head}) must be a multiple of n_kv_head (${a.n_kv_head})`);
  if (a.position === 'rope' && a.rope === undefined) problems.push('position "rope" needs architecture.rope');
  if (a.rope?.dim !== undefined && (a.rope.dim > a.head_dim || a.rope.dim % 2 !== 0))
    problems.push(`rope.dim (${a.rope.dim}) must be even and at most head_dim (${a.head_dim})`);
  if (t.vocab_size !== a.vocab_size) problems.push('tokenizer.vocab_size must equal architecture.vocab_size');
  const eos = t.type === 'huggingface' ? t.eos_token_ids : [t.eos_token_id];
  if (eos.some((e) => e >= a.vocab_size)) problems.push('tokenizer eos ids must be below vocab_size');
  if (t.type === 'huggingface') {
    if (t.eos_token_ids[0] !== t.eos_token_id)
      problems.push('tokenizer.eos_token_id must be the first of eos_token_ids');
    if (value.files.tokenizer === undefined) problems.push('a huggingface tokenizer needs files.tokenizer');
  }
  return problems.length ? { ok: false, problems } : { ok: true, manifest: value };
}

/** Every id that ends generation. */
export function eosTokenIds(m: ModelManifest): readonly number[] {
  return m.tokenizer.type === 'huggingface' ? m.tokenizer.eos_token_ids : [m.tokenizer.eos_token_id];
}
