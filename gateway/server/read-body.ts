import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { ApiError } from '../errors/index.ts';
import { requestHeader } from './request-header.ts';

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
  const type = requestHeader(c, 'content-type');
  if (type === undefined || !JSON_TYPE.test(type)) {
    throw new ApiError(
      'unsupported_media_type',
      `send Content-Type: application/json (the request has ${type === undefined ? 'none' : `'${type}'`})`,
    );
  }
  const max = c.get('maxBodyBytes') ?? Number.MAX_SAFE_INTEGER;
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  let text: string;
  const arrived = incoming ? arrivedBody(incoming) : null;
  if (arrived !== null) {
    text = arrived; // a declared length was checked by limitBody
  } else if (incoming && requestHeader(c, 'content-length') === undefined) {
    try {
      text = await readCounting(incoming, max); // no declared length: count as it arrives
    } catch (e) {
      c.header('Connection', 'close'); // the rest of the body stays unread: the socket is not reused
      throw e;
    }
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

/**
 * The body, when all of it has already arrived with a declared length (the usual case: a small body
 * comes in the packet that brings the headers): taken from the stream's buffer at once, without the
 * listeners, promise and ticks of reading it as a stream. Null when it must be read as it arrives.
 */
function arrivedBody(incoming: IncomingMessage): string | null {
  if (!incoming.complete || incoming.readableDidRead || incoming.headers['content-length'] === undefined) {
    return null;
  }
  const chunk = incoming.read() as Buffer | null;
  return chunk === null ? '' : chunk.toString('utf8');
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
