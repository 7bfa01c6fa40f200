/**
 * Why an import was refused. `code` is stable (the CLI and tests key on it); `message` names the file,
 * the field or tensor and its value, and says what to do.
 */
export type ImportErrorCode =
  /** The folder, or config.json, is missing or not readable JSON. */
  | 'model_dir_invalid'
  /** config.json holds a value that cannot describe a model (a wrong type, a shape that does not divide). */
  | 'config_invalid'
  /** A valid checkpoint of a kind warmgate does not import (model_type, MoE, a rope type, an unknown field). */
  | 'architecture_unsupported'
  /** A safetensors file or the shard index is damaged: header, offsets, a truncated file. */
  | 'checkpoint_corrupt'
  /** Part of the checkpoint is absent: no weights file, a shard, a tensor. */
  | 'checkpoint_incomplete'
  /** The checkpoint disagrees with config.json: a shape, an unexpected tensor, an untied lm_head. */
  | 'checkpoint_mismatch'
  /** A tensor in a dtype warmgate does not read (F32, F16 and BF16 are read). */
  | 'dtype_unsupported'
  /** tokenizer.json is absent. */
  | 'tokenizer_missing'
  /** tokenizer_config.json, chat_template.jinja or generation_config.json is unreadable or malformed. */
  | 'tokenizer_invalid'
  /** weights.bin could not be written. */
  | 'output_failed';

export class ImportError extends Error {
  readonly code: ImportErrorCode;
  constructor(code: ImportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImportError';
    this.code = code;
  }
}

/** A value as a message shows it: JSON, shortened. */
export function shown(value: unknown): string {
  const s = value === undefined ? 'undefined' : JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
