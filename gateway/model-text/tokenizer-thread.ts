import type { Worker } from 'node:worker_threads';
import { type ChatMessage, ChatTemplateError } from '../../runtime/engine/api.ts';
import { ApiError } from '../errors/index.ts';
import type { HfText } from './deployment-text.ts';
import type { FromWorker, ToWorker } from './worker-messages.ts';

interface Waiting {
  resolve(m: FromWorker): void;
  reject(e: Error): void;
}

/**
 * One tokenizer's worker thread, as the event loop sees it: requests posted with a sequence number and
 * answered by it. The worker never keeps the process alive (unref'd). When it stops (ended, crashed,
 * killed), every request waiting on it fails with 503 tokenizer_unavailable, as does any later one, and
 * `onExit` hears it so that the owner forgets this thread and builds a new one on the next request.
 */
export class TokenizerThread implements HfText {
  readonly type = 'huggingface';
  readonly id: string;
  /** Resolves with the build's time on the worker (ms); rejects with why it could not be built. */
  readonly built: Promise<number>;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  #seq = 0;
  #stopped: ApiError | null = null;
  #retiring = false;

  constructor(id: string, worker: Worker, onExit: (thread: TokenizerThread) => void) {
    this.id = id;
    this.#worker = worker;
    let settle!: { resolve(ms: number): void; reject(e: Error): void };
    this.built = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
    // A caller that only awaits requests must not see an unhandled rejection of the build.
    this.built.catch(() => {});
    let crash = '';
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'built') settle.resolve(m.buildMs);
      else if (m.type === 'unbuildable') {
        settle.reject(new Error(m.message));
        void worker.terminate();
      } else {
        const w = this.#waiting.get(m.seq);
        this.#waiting.delete(m.seq);
        if (m.type === 'failed') w?.reject(new Error(`the tokenizer failed on this request: ${m.message}`));
        else w?.resolve(m);
        if (this.#retiring && this.#waiting.size === 0) void worker.terminate();
      }
    });
    // An uncaught exception in the worker: 'exit' follows, and says it to the waiting requests.
    worker.on('error', (e) => (crash = `: ${e.message}`));
    worker.on('exit', (code) => {
      this.#stopped = new ApiError(
        'tokenizer_unavailable',
        `the gateway's tokenizer worker for ${this.id} stopped (exit code ${code}${crash}): retry`,
        { retryAfter: 1 },
      );
      settle.reject(this.#stopped);
      for (const w of this.#waiting.values()) w.reject(this.#stopped);
      this.#waiting.clear();
      onExit(this);
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
  }

  async encode(text: string, addSpecialTokens: boolean): Promise<number[]> {
    const m = await this.#ask({ op: 'encode', seq: ++this.#seq, text, addSpecialTokens });
    if (m.type !== 'ids') throw new Error(`the tokenizer worker answered ${m.type} to encode`);
    return Array.from(m.ids);
  }

  async renderChat(messages: readonly ChatMessage[]): Promise<{ text: string; ids: number[] }> {
    const m = await this.#ask({ op: 'chat', seq: ++this.#seq, messages });
    if (m.type === 'refused') throw new ChatTemplateError(m.code, m.message);
    if (m.type !== 'chat') throw new Error(`the tokenizer worker answered ${m.type} to chat`);
    return { text: m.text, ids: Array.from(m.ids) };
  }

  /** Ends the worker once the requests it holds are answered (it was let go to bound the workers). */
  retire(): void {
    this.#retiring = true;
    if (this.#waiting.size === 0) void this.#worker.terminate();
  }

  /** Ends the worker now; requests waiting on it fail with 503. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #ask(m: ToWorker): Promise<FromWorker> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise<FromWorker>((resolve, reject) => {
      this.#waiting.set(m.seq, { resolve, reject });
      this.#worker.postMessage(m);
    });
  }
}
