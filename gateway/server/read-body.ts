import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { ApiError } from '../errors/index.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** Largest body readJson takes (set by limitBody). */
    maxBodyBytes: number;
  }
}

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

const tooLarge = (max: number) => new ApiError('body_too_large', `the body is over the ${max}-byte limit`);

/**
 * The request body as JSON: 415 unsupported_media_type unless it says it is JSON, 400 invalid_json if it
 * is not, 413 past the size limit (counted as it arrives for bodies without a Content-Length).
 */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type');
  if (type === undefined || !JSON_TYPE.test(type)) {
    throw new ApiError(
      'unsupported_media_type',
      `send Content-Type: application/json (the request has ${type === undefined ? 'none' : `'${type}'`})`,
    );
  }
  const max = c.get('maxBodyBytes') ?? Number.MAX_SAFE_INTEGER;
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  let text: string;
  if (c.req.header('content-length') === undefined && incoming) {
    text = await readCounting(incoming, max); // no declared length: count as it arrives
  } else {
    text = await c.req.text(); // a declared length was checked by limitBody; hono reads it directly
    if (text.length > max && Buffer.byteLength(text) > max) throw tooLarge(max);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('invalid_json', `the body is not valid JSON: ${(e as Error).message}`);
  }
}

async function readCounting(incoming: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming) {
    size += chunk.length;
    if (size > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
