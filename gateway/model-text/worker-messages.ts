import type { ChatMessage, ChatTemplateError } from '../../runtime/engine/api.ts';

/**
 * What a tokenizer worker (tokenizer-worker.ts) and its TokenizerThread say to each other. The worker
 * starts with the body of GET /tokenizer as bytes (transferred, never parsed on the event loop), builds
 * the tokenizer and chat template, says `built` or `unbuildable`, then answers requests by `seq`. Ids
 * travel as a Uint32Array whose buffer is transferred.
 */
export interface WorkerStart {
  /** GET /tokenizer's JSON body (TokenizerFilesBody), as UTF-8 bytes. */
  readonly filesBody: ArrayBuffer;
}

export type ToWorker =
  | { readonly op: 'encode'; readonly seq: number; readonly text: string; readonly addSpecialTokens: boolean }
  | { readonly op: 'chat'; readonly seq: number; readonly messages: readonly ChatMessage[] };

export type FromWorker =
  | { readonly type: 'built'; readonly buildMs: number }
  | { readonly type: 'unbuildable'; readonly message: string }
  | { readonly type: 'ids'; readonly seq: number; readonly ids: Uint32Array }
  | { readonly type: 'chat'; readonly seq: number; readonly text: string; readonly ids: Uint32Array }
  | {
      readonly type: 'refused';
      readonly seq: number;
      readonly code: ChatTemplateError['code'];
      readonly message: string;
    }
  | { readonly type: 'failed'; readonly seq: number; readonly message: string };
