/** Why the engine refused a request at admission. Stable codes: the gateway maps them to HTTP. */
export type AdmissionErrorCode =
  | 'empty_prompt'
  | 'context_length_exceeded'
  | 'kv_capacity_exceeded'
  | 'queue_full'
  | 'invalid_sampling_params'
  | 'invalid_token'
  | 'engine_draining'
  | 'adapter_not_found';

export interface AdmissionError {
  code: AdmissionErrorCode;
  message: string;
  /** The request field to fix, when one is to blame. */
  field?: string;
}
