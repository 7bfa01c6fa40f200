/** A weights file that cannot be converted: `code` is stable, the message says what is wrong and what to do. */
export class WeightConversionError extends Error {
  override name = 'WeightConversionError';
  readonly code:
    | 'dtype_unsupported'
    | 'block_size_unsupported'
    | 'source_not_float32'
    | 'source_unreadable'
    | 'tensor_out_of_file'
    | 'value_out_of_range'
    | 'output_failed';
  constructor(code: WeightConversionError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
