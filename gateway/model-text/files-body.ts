import type { TokenizerFilesBody } from '../../runtime/instance/protocol.ts';

/**
 * GET /tokenizer's body, as bytes, parsed and checked to be of the shape modelTextFrom reads. Run on the
 * tokenizer worker: parsing Llama 3's 9 MB tokenizer.json takes about half a second. Throws an Error
 * saying what is wrong.
 */
export function parseFilesBody(bytes: ArrayBuffer): TokenizerFilesBody {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`GET /tokenizer answered something that is not JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(body)) throw new Error('GET /tokenizer answered something other than a JSON object');
  const files = body as Record<string, unknown>;
  if (!isObject(files.tokenizer)) throw new Error('GET /tokenizer answered no "tokenizer" object');
  for (const field of ['tokenizerConfig', 'generationConfig']) {
    if (files[field] !== undefined && !isObject(files[field])) {
      throw new Error(`GET /tokenizer answered a "${field}" that is not an object`);
    }
  }
  if (files.chatTemplateJinja !== undefined && typeof files.chatTemplateJinja !== 'string') {
    throw new Error('GET /tokenizer answered a "chatTemplateJinja" that is not a string');
  }
  return {
    tokenizer: files.tokenizer,
    tokenizerConfig: files.tokenizerConfig,
    generationConfig: files.generationConfig,
    chatTemplateJinja: files.chatTemplateJinja as string | undefined,
  };
}
