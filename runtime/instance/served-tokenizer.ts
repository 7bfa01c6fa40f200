import { createHash } from 'node:crypto';
import { readHfTextFiles } from '../engine/index.ts';
import type { LoadedModel } from '../model/index.ts';
import type { ServedTokenizer } from './protocol.ts';

/** What the instance says of its tokenizer: GET /metadata's `tokenizer`, and GET /tokenizer's body. */
export interface TokenizerServing {
  readonly tokenizer: ServedTokenizer;
  /** GET /tokenizer's JSON (TokenizerFilesBody); null for a byte-level model, which has no files. */
  readonly filesBody: string | null;
}

const BYTE: TokenizerServing = Object.freeze({
  tokenizer: Object.freeze({ type: 'byte' as const }),
  filesBody: null,
});

/**
 * Reads the model's text files once, at start: the gateway fetches them to count tokens and render
 * chats as this model does. The id is the sha256 of the body served, so instances of models with the
 * same files (one checkpoint, or sizes sharing a tokenizer) share one id, and the gateway one tokenizer.
 * loadModel has already read and checked these files: an error here is a file changed since.
 */
export async function tokenizerServing(model: LoadedModel): Promise<TokenizerServing> {
  if (model.manifest.tokenizer.type === 'byte') return BYTE;
  const body = JSON.stringify(await readHfTextFiles(model.dir));
  const id = createHash('sha256').update(body).digest('hex');
  return { tokenizer: { type: 'huggingface', id }, filesBody: body };
}
