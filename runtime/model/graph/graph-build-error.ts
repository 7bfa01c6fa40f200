/** Graphs that cannot be built for an architecture or weights index: `code` is stable. */
export class GraphBuildError extends Error {
  override name = 'GraphBuildError';
  readonly code:
    | 'architecture_unsupported'
    | 'weight_missing'
    | 'weight_shape_mismatch'
    | 'weight_dtype_unsupported'
    | 'weight_out_of_file'
    | 'weights_size_mismatch'
    | 'lora_spec_invalid'
    | 'device_graph_unsupported';
  constructor(code: GraphBuildError['code'], message: string) {
    super(message);
    this.code = code;
  }
}
