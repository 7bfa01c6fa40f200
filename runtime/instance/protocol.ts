/**
 * The runtime instance's HTTP protocol as the gateway speaks it: the bodies of POST /generate and
 * POST /infer and the answer of /infer. Types only, so the gateway can import them without loading the
 * instance. /generate streams the engine's GenerationEvent (runtime/engine/api.ts) as NDJSON.
 */

/** POST /generate: a prompt (text, or token ids checked against the vocabulary) and sampling settings. */
export interface GenerateRequestBody {
  readonly prompt: string | readonly number[];
  /** The engine's SamplingParams (or a subset), checked by validateSamplingParams. */
  readonly params?: object;
  /** 1 is batch priority; anything else, or none, interactive. */
  readonly priority?: number;
}

/** One input tensor of POST /infer: flat data, row-major. */
export interface TensorBody {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/** POST /infer: named input tensors of one request (the instance batches requests together). */
export interface InferRequestBody {
  readonly inputs: readonly TensorBody[];
}

/** POST /infer's answer: the request's rows of each output, and how many rows the batch held. */
export interface InferResponseBody {
  readonly outputs: { name: string; shape: readonly number[]; datatype: string; data: number[] }[];
  readonly batchRows: number;
}
