import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/**
 * Lingering close, as nginx does it (`lingering_close`): a request refused before its body was read
 * (413) is answered with `Connection: close`, and then the server, instead of closing at once, shuts its
 * own side and reads and discards what the client is still sending, within bounds, before closing.
 * Closing a socket with unread bytes makes the kernel send a reset, and a client still writing its body
 * (undici's fetch, the OpenAI SDK) then sees a connection error instead of the 413 it was sent.
 */

/** Longest time spent discarding after the answer (nginx's `lingering_time` is 30 s). */
export const LINGER_MAX_MS = 5_000;
/** Longest silence from the client while discarding (nginx's `lingering_timeout` is 5 s). */
export const LINGER_IDLE_MS = 1_000;
/** Most bytes discarded after the answer: a larger body is cut off with a reset, as before. */
export const LINGER_MAX_BYTES = 32 * 2 ** 20;

export interface LingerLimits {
  readonly maxMs: number;
  readonly idleMs: number;
  readonly maxBytes: number;
}

export const LINGER_LIMITS: LingerLimits = Object.freeze({
  maxMs: LINGER_MAX_MS,
  idleMs: LINGER_IDLE_MS,
  maxBytes: LINGER_MAX_BYTES,
});

const lingering = new WeakSet<Socket>();

/**
 * Marks the answer `Connection: close` and makes its connection linger once the answer is sent. Without
 * a Node socket (hono's `app.request` in tests) only the header is set.
 */
export function closeAfterLingering(c: Context, limits: LingerLimits = LINGER_LIMITS): void {
  c.header('Connection', 'close');
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming?.socket) lingerOnClose(incoming, incoming.socket, limits);
}

/**
 * Node's HTTP server ends a `Connection: close` exchange with `socket.destroySoon()` once the answer is
 * written; on this socket that becomes: end our side (the client still reads the answer), discard what
 * arrives, and destroy when the client ends its side or a bound is reached.
 */
function lingerOnClose(incoming: IncomingMessage, socket: Socket, limits: LingerLimits): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  let started = false;
  let discarded = 0;
  let total: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  const close = () => {
    clearTimeout(total);
    clearTimeout(idle);
    incoming.off('data', onData);
    socket.destroy();
  };
  // The body goes to this counter and no further. Listening now also keeps Node from dumping the request
  // when the answer is sent: a dumped request's bytes are dropped inside the parser, where none can count
  // them (a 'data' listener on the socket itself would take the socket from the parser).
  const onData = (chunk: Buffer) => {
    if (!started) return;
    discarded += chunk.length;
    if (discarded > limits.maxBytes) close();
    else idle?.refresh();
  };
  incoming.on('data', onData);
  socket.destroySoon = function lingerThenDestroy(this: Socket) {
    // Called again by whoever else wants the socket gone once answered (Node's server, then
    // @hono/node-server's own 500 ms drain): one linger, under this file's bounds.
    if (started || this.destroyed) return;
    started = true;
    // Unref'd: a lingering socket never keeps the process alive.
    total = setTimeout(close, limits.maxMs).unref();
    idle = setTimeout(close, limits.idleMs).unref();
    this.once('end', close); // the client has sent all it will send
    this.once('close', () => {
      clearTimeout(total);
      clearTimeout(idle);
    });
    this.end();
    // The body is only discarded from here on. Another reader of it lets go: a web stream over the
    // request (hono's c.req.raw.body) pauses it whenever nobody pulls, which would stall the discarding
    // until the idle bound closes the connection with the body still arriving, i.e. with a reset.
    for (const l of incoming.listeners('data')) if (l !== onData) incoming.off('data', l as never);
    incoming.resume();
  };
}
