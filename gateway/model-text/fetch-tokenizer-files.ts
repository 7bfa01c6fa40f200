import type { UpstreamInstance } from '../instances/index.ts';

/**
 * GET /tokenizer of one instance: the body of the model's text files (TokenizerFilesBody, JSON) as
 * bytes, checked to be the files `id` names (the ETag). The bytes are parsed on the tokenizer worker
 * (parseFilesBody), not here: a 9 MB JSON body parsed on the event loop would stall every request.
 * Throws an Error saying what went wrong; the caller turns it into the request's answer.
 */
export async function fetchTokenizerFiles(
  inst: UpstreamInstance,
  id: string,
  timeoutMs: number,
): Promise<ArrayBuffer> {
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
  return res.body.arrayBuffer();
}
