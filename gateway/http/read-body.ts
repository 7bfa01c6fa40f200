import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { ApiError } from '../errors/index.ts';
import { closeAfterLingering } from '../../runtime/http/lingering-close.ts';
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
  if (incoming && !incoming.readableDidRead) {
    try {
      text = await readIncoming(incoming, max);
    } catch (e) {
      closeAfterLingering(c); // the rest of the body stays unread: discarded after the answer, then closed
      throw e;
    }
  } else {
    text = await c.req.text(); // not on Node (app.request in tests), or read already: hono has it
    if (text.length > max && Buffer.byteLength(text) > max) throw tooLarge(max);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('invalid_json', `the body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The body read off Node's request stream with plain listeners, counted as it arrives (a declared
 * Content-Length was already checked by limitBody; a chunked body is checked here). Not hono's
 * `c.req.text()`: that builds the web Request and a web stream over this one for every body. Nor the
 * buffer at once: the route runs from the parser's headers callback, before the parser has read on into
 * the body, even one that came in the same packet.
 */
function readIncoming(incoming: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let first: Buffer | null = null;
    let rest: Buffer[] | null = null; // only for a body in more than one chunk
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        done();
        reject(tooLarge(max));
      } else if (first === null) first = chunk;
      else (rest ??= [first]).push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(rest ? Buffer.concat(rest).toString('utf8') : first ? first.toString('utf8') : '');
    };
    // The client went away mid-body (node says 'aborted', or only closes): its error, not the server's.
    const onGone = () => {
      done();
      reject(new ApiError('incomplete_body', `the connection closed after ${size} bytes of the body`));
    };
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onGone);
      incoming.off('close', onGone);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onGone);
    incoming.on('close', onGone);
  });
}
