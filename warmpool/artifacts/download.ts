import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { request } from 'undici';
import type { ArtifactError } from './artifact-error.ts';

export interface DownloadLimits {
  /** Headers and idle-body timeout per request, ms. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export type Downloaded =
  | { readonly ok: true; readonly sha256: string; readonly body?: Buffer }
  | { readonly ok: false; readonly error: ArtifactError };

/**
 * Fetches `url` into the file `dest` (or into memory when `dest` is undefined), hashing on the fly and
 * stopping at the size cap. A network failure is retried once; an HTTP status is not (the server answered).
 */
export async function download(
  url: string,
  dest: string | undefined,
  limits: DownloadLimits,
): Promise<Downloaded> {
  const first = await attempt(url, dest, limits);
  return 'retry' in first ? finish(await attempt(url, dest, limits), url) : first;
}

type Attempt = Downloaded | { retry: string };

const finish = (a: Attempt, url: string): Downloaded =>
  'retry' in a ? { ok: false, error: { code: 'artifact_unreachable', message: `${url}: ${a.retry}` } } : a;

async function attempt(url: string, dest: string | undefined, limits: DownloadLimits): Promise<Attempt> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, { headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs });
  } catch (e) {
    return { retry: (e as Error).message || (e as Error).name };
  }
  const { statusCode, headers, body } = res;
  try {
    if (statusCode !== 200)
      return {
        ok: false,
        error: { code: 'artifact_unreachable', message: `${url} answered HTTP ${statusCode}` },
      };
    const declared = Number(headers['content-length']);
    if (declared > limits.maxBytes) return tooLarge(url, limits.maxBytes);
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    // 'w' truncates, so a retried attempt never appends to a partial first one.
    const file = dest === undefined ? undefined : await open(dest, 'w');
    try {
      let bytes = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > limits.maxBytes) return tooLarge(url, limits.maxBytes);
        hash.update(chunk);
        if (file) await file.write(chunk);
        else chunks.push(chunk);
      }
    } catch (e) {
      return { retry: (e as Error).message || (e as Error).name };
    } finally {
      await file?.close();
    }
    const sha256 = hash.digest('hex');
    return file ? { ok: true, sha256 } : { ok: true, sha256, body: Buffer.concat(chunks) };
  } finally {
    // Frees the socket if we stopped early; the abort it raises on an unread body is expected.
    body.on('error', () => {}).destroy();
  }
}

const tooLarge = (url: string, max: number): Downloaded => ({
  ok: false,
  error: { code: 'artifact_too_large', message: `${url} is larger than the ${max}-byte limit` },
});
