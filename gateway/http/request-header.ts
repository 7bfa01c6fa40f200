import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { ERROR_CATALOG, type ErrorCode } from '../errors/index.ts';

/**
 * A request header by lower-case name. On Node it reads the incoming message's own headers: asking hono
 * would build a web Headers object for the whole request (measured, a few percent of a request's CPU).
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Node's default header limit (--max-http-header-size): the gateway's default too. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/** Catalog codes for requests node's HTTP parser refuses, by its error code; anything else is invalid_request. */
const PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    code: 'headers_too_large',
    message: 'the request headers are over the size limit: send fewer or shorter headers',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    code: 'body_too_large',
    message: 'the chunk extensions are over the size limit: send a plain chunked body',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: 'request_timeout',
    message: 'the request did not arrive in time: send it whole, promptly',
  },
};

/**
 * Requests node's HTTP parser refuses before any route sees them (headers over maxHeaderSize, malformed
 * request lines) answer like every other error: the status node would send, with a JSON body naming a
 * catalog code, and the connection closed. The shape mirrors node's default handler, which this replaces:
 * nothing is written once a response on the socket has begun.
 */
export function answerParserErrors(server: {
  on(event: 'clientError', listener: (err: Error & { code?: string }, socket: Duplex) => void): unknown;
}): void {
  server.on('clientError', (err, socket) => {
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const e = PARSER_ERRORS[err.code ?? ''] ?? {
      code: 'invalid_request',
      message: 'the request is not valid HTTP/1.1: fix its request line or headers',
    };
    const { status, type } = ERROR_CATALOG[e.code];
    const body = JSON.stringify({ error: { message: e.message, type, param: null, code: e.code } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
