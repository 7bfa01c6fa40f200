import type { Dispatcher } from 'undici';
import type { GenerationEvent } from '../../runtime/engine/api.ts';
import { ApiError } from '../errors/index.ts';
import type { UpstreamInstance } from '../instances/index.ts';
import { instanceError, isUpstreamSilence, RetryableUpstreamError, upstreamTimeout } from './errors.ts';
import type { GenerateRequestBody } from '../../runtime/instance/protocol.ts';
import type { CallOptions } from './instance-client.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };
const LOAD_HEADER = 'x-warmgate-load';

/**
 * A generation whose answer the caller needs in one piece: the instance's NDJSON body read whole and
 * parsed at its end. A raw undici handler rather than `pool.request`: no body stream, no async resource,
 * no per-request abort plumbing beyond one listener, measured as the largest single cost of a proxied
 * non-streaming request. Before the instance answers, a failure is a RetryableUpstreamError (another
 * instance may take it); once it has answered 200, a broken body is upstream_failed.
 */
export function generateWhole(
  inst: UpstreamInstance,
  body: GenerateRequestBody,
  o: CallOptions,
): Promise<GenerationEvent[]> {
  if (o.signal.aborted) return Promise.reject(o.signal.reason);
  return new Promise((resolve, reject) => {
    const headers = o.headers && hasKeys(o.headers) ? { ...JSON_HEADERS, ...o.headers } : JSON_HEADERS;
    const handler = new WholeBodyHandler(inst, o.signal, resolve, reject);
    inst.pool.dispatch({ path: '/generate', method: 'POST', headers, body: JSON.stringify(body) }, handler);
  });
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** undici's handler contract (onConnect, onHeaders, onData, onComplete, onError), for one request. */
class WholeBodyHandler implements Dispatcher.DispatchHandler {
  readonly #inst: UpstreamInstance;
  readonly #signal: CallOptions['signal'];
  readonly #resolve: (events: GenerationEvent[]) => void;
  readonly #reject: (e: unknown) => void;
  #abort: ((reason?: Error) => void) | null = null;
  #status = 0;
  #chunks: Buffer[] = [];
  readonly #onAbort = () => this.#abort?.(this.#signal.reason as Error);

  constructor(
    inst: UpstreamInstance,
    signal: CallOptions['signal'],
    resolve: (events: GenerationEvent[]) => void,
    reject: (e: unknown) => void,
  ) {
    this.#inst = inst;
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.#signal.aborted) abort(this.#signal.reason as Error);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null): boolean {
    if (statusCode < 200) return true; // informational: the answer follows
    this.#status = statusCode;
    if (rawHeaders) {
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const key = rawHeaders[i]!;
        if (key.length === LOAD_HEADER.length && key.toString().toLowerCase() === LOAD_HEADER) {
          this.#inst.noteLoadHeader(rawHeaders[i + 1]!.toString());
        }
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    const c = this.#chunks;
    const text = c.length === 1 ? c[0]!.toString() : Buffer.concat(c).toString();
    if (this.#status !== 200) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: instanceError names the status alone
      }
      this.#reject(instanceError(this.#status, parsed));
      return;
    }
    const events: GenerationEvent[] = [];
    try {
      for (let start = 0; start < text.length;) {
        let nl = text.indexOf('\n', start);
        if (nl < 0) nl = text.length;
        const line = text.slice(start, nl);
        if (line.trim()) events.push(JSON.parse(line) as GenerationEvent);
        start = nl + 1;
      }
    } catch (e) {
      this.#reject(broken(e));
      return;
    }
    this.#resolve(events);
  }

  onError(err: Error): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    if (this.#signal.aborted) this.#reject(err);
    else if (isUpstreamSilence(err)) this.#reject(upstreamTimeout(this.#inst.id, err));
    else if (this.#status === 0) {
      this.#reject(
        new RetryableUpstreamError(`instance ${this.#inst.id} unreachable: ${err.message}`, false),
      );
    } else if (this.#status !== 200) this.#reject(instanceError(this.#status, null));
    else this.#reject(broken(err));
  }
}

const broken = (e: unknown) =>
  new ApiError('upstream_failed', `the instance stream broke: ${(e as Error).message}`);
