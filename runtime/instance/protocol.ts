/**
 * The runtime instance's HTTP protocol as the gateway speaks it: the bodies of POST /generate and
 * POST /infer, the answer of /infer, and the tokenizer an instance serves. Types only, so the gateway can import them without loading the
 * instance. /generate streams the engine's GenerationEvent (runtime/engine/api.ts) as NDJSON.
 */
import type { HfTextFiles } from '../engine/api.ts';

/** POST /generate: a prompt (text, or token ids checked against the vocabulary) and sampling settings. */
export interface GenerateRequestBody {
  readonly prompt: string | readonly number[];
  /** The engine's SamplingParams (or a subset), checked by validateSamplingParams. */
  readonly params?: object;
  /** 1 is batch priority; anything else, or none, interactive. */
  readonly priority?: number;
  /**
   * A LoRA adapter to generate under: its id on this instance and its PEFT folder, loaded on first use
   * (later requests under the same id share it). None: the base model.
   */
  readonly adapter?: { readonly id: string; readonly path: string };
}

/**
 * Which tokenizer a generative instance serves (GET /metadata's `tokenizer`). `byte`: warmgate's own
 * models, one token per UTF-8 byte, so a caller counts tokens without encoding. `huggingface`: the
 * model's tokenizer.json and chat template, served by GET /tokenizer (TokenizerFilesBody); `id` is the
 * sha256 of that body, the same on every instance that serves the same files.
 */
export type ServedTokenizer =
  { readonly type: 'byte' } | { readonly type: 'huggingface'; readonly id: string };

/**
 * GET /tokenizer's answer: the text files of a Hugging Face model, parsed, as readHfTextFiles reads them
 * and modelTextFrom builds the tokenizer and chat template from them. Its ETag is the ServedTokenizer id.
 */
export type TokenizerFilesBody = HfTextFiles;

/** One input tensor of POST /infer: flat data, row-major. */
export interface TensorBody {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/** A request's place in a stateful model's sequence (Triton's sequence_id, sequence_start, sequence_end). */
export interface SequenceBody {
  /** The correlation id, as a string (the gateway keys a numeric id as its decimal digits). */
  readonly id: string;
  readonly start?: boolean;
  readonly end?: boolean;
}

/** POST /infer: named input tensors of one request (the instance batches requests together). */
export interface InferRequestBody {
  readonly inputs: readonly TensorBody[];
  /** Required by a stateful model, refused by a stateless one. */
  readonly sequence?: SequenceBody;
}

/** POST /infer's answer: the request's rows of each output, and how many rows the batch held. */
export interface InferResponseBody {
  readonly outputs: { name: string; shape: readonly number[]; datatype: string; data: number[] }[];
  readonly batchRows: number;
}
