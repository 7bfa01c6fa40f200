import type { TokenizerFilesBody } from '../../runtime/instance/protocol.ts';
import type { UpstreamInstance } from '../instances/index.ts';

/**
 * GET /tokenizer of one instance: the model's text files, checked to be the ones `id` names (the ETag)
 * and of the shape modelTextFrom reads. Throws an Error saying what went wrong; the caller turns it into
 * the request's answer.
 */
export async function fetchTokenizerFiles(
  inst: UpstreamInstance,
  id: string,
  timeoutMs: number,
): Promise<TokenizerFilesBody> {
  const res = await inst.pool.request({
    path: '/tokenizer',
    method: 'GET',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.statusCode !== 200) {
    const body = (await res.body.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(`GET /tokenizer answered ${res.statusCode}: ${body?.error?.message ?? 'no message'}`);
  }
  if (res.headers.etag !== `"${id}"`) {
    await res.body.dump();
    throw new Error(
      `GET /tokenizer sent files ${String(res.headers.etag)}, not "${id}" as its metadata said`,
    );
  }
  return checkFiles(await res.body.json());
}

function checkFiles(body: unknown): TokenizerFilesBody {
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
