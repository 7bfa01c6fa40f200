/** How a request ended. `errors` counts 'error' and 'rejected' (the platform did not serve it); 'aborted' is the client's choice. */
export type Outcome = 'ok' | 'error' | 'rejected' | 'aborted';

/**
 * The rest of a request, known when it ends: its arrival was counted when it came (recordArrival). `at`
 * is still its arrival, and these counts join the arrival's bucket, not the end's: a bucket then
 * describes the requests that arrived in it (errors per arrival, mean TTFT over the same requests), and
 * the arrival pages need no second write. Its end counts may come after the bucket closed (README.md).
 */
export interface RequestEnd {
  model: string;
  /** Epoch ms of arrival (the bucket these counts go in), the same as given to recordArrival. */
  at: number;
  /** Non-negative integer. */
  promptTokens: number;
  /** Non-negative integer. */
  outputTokens: number;
  /** Time to first token in ms (rounded to an integer when stored), or null when there was none. */
  ttftMs: number | null;
  outcome: Outcome;
}

/** The aggregated counters of one bucket. */
export interface Counters {
  arrivals: number;
  promptTokens: number;
  outputTokens: number;
  errors: number;
  ttftMsSum: number;
  ttftCount: number;
}

export interface Bucket extends Counters {
  /** Epoch ms where the bucket starts; it covers [start, start + bucketMs). */
  start: number;
}

/** Buckets of `bucketMs`, each kept until `start + retentionMs`. */
export interface Resolution {
  bucketMs: number;
  retentionMs: number;
}

/**
 * A request is recorded twice: its arrival when it comes, the rest when it ends. A reader of arrivals
 * (the controller's demand feed reads each second once, shortly after it closes) sees a request that is
 * still in flight, however long it lasts. Both are synchronous: they never wait for I/O, and throw only
 * for a malformed record (a caller bug).
 */
export interface HistoryStore {
  /** Counts one arrival of `model` at `at` (epoch ms). */
  recordArrival(model: string, at: number): void;
  /** Adds a request's tokens, TTFT and outcome to its arrival's bucket; never counts an arrival. */
  recordEnd(r: RequestEnd): void;
  /** Writes what is buffered. Rejects if the backend is unreachable; nothing is lost, it is retried. */
  flush(): Promise<void>;
  /**
   * One bucket per `bucketMs` step in [fromMs, toMs), zero-filled. Reads what has been flushed.
   * Throws RangeError when no configured resolution divides `bucketMs`.
   */
  series(model: string, fromMs: number, toMs: number, bucketMs: number): Promise<Bucket[]>;
  /** Flushes, then releases timers and connections. */
  close(): Promise<void>;
}
