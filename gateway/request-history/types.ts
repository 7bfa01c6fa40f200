/** How a request ended. `errors` counts 'error' and 'rejected' (the platform did not serve it); 'aborted' is the client's choice. */
export type Outcome = 'ok' | 'error' | 'rejected' | 'aborted';

/** One request, as the gateway saw it. */
export interface RequestRecord {
  model: string;
  /** Epoch ms of arrival. */
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

export interface HistoryStore {
  /** Synchronous: never waits for I/O. Throws only for a malformed record (a caller bug). */
  record(r: RequestRecord): void;
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
