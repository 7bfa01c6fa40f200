/**
 * Why an adapter was refused at load (never mid-request). `code` is stable; `message` names the file, the
 * field or tensor and its value, and says what to fix.
 */
export type AdapterErrorCode =
  /** The folder, adapter_config.json or adapter_model.safetensors is missing. */
  | 'adapter_not_found'
  /** adapter_config.json is not JSON, or a field has a value no adapter can have. */
  | 'adapter_config_invalid'
  /** A valid PEFT adapter of a kind warmgate does not serve: DoRA, modules_to_save, a bias, a module. */
  | 'adapter_unsupported'
  /** The rank is above 64 or above the instance's configured maximum. */
  | 'adapter_rank_too_large'
  /** The adapter was trained for another base model: a shape, a layer the base does not have. */
  | 'adapter_base_mismatch'
  /** adapter_model.safetensors is damaged or truncated, or lacks a tensor its config implies. */
  | 'adapter_file_corrupt';

export class AdapterError extends Error {
  readonly code: AdapterErrorCode;
  constructor(code: AdapterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdapterError';
    this.code = code;
  }
}
