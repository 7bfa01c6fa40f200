import type { KeyLimits } from './key-record.ts';

export type LimitCode = 'rate_limit_exceeded' | 'token_quota_exceeded' | 'too_many_concurrent_requests';

/** Whether a key's request may start now. A refusal is a value: it is how a limit works. */
export type Admission =
  | {
      readonly ok: true;
      /** The request's place among the key's concurrent requests; give it back to finish(). */
      readonly lease: string | null;
    }
  | {
      readonly ok: false;
      readonly code: LimitCode;
      /** Which limit: 'requests per second', 'tokens per minute', ... */
      readonly limit: string;
      /** When trying again can succeed. */
      readonly retryAfterMs: number;
    };

/** What a key has used of its limits' windows, over every replica sharing the limiter. */
export interface LimitUsage {
  /** Tokens counted in the current minute (UTC minute) and day (UTC day): what the quotas compare. */
  readonly tokensThisMinute: number;
  readonly tokensToday: number;
  /** Concurrency leases held now (counted only for keys with a concurrency limit). */
  readonly leases: number;
}

/** A key's limits, enforced over everything that shares the limiter (every replica, with Redis). */
export interface Limiter {
  /** Checks and takes: a request slot from the rate, a concurrency lease; refuses a key past its quota. */
  admit(keyId: string, limits: KeyLimits): Promise<Admission>;
  /**
   * The request ended: its lease is given back and `tokens` (prompt + completion) are counted against the
   * key's quotas. Never throws and never waits for I/O.
   */
  finish(keyId: string, lease: string | null, tokens: number): void;
  /** What the key has used of the current windows (read only; for the admin's status page). */
  usage(keyId: string): Promise<LimitUsage>;
  close(): Promise<void>;
}

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** The refusal for each outcome code the Redis script and the memory limiter share. */
export function refusal(outcome: number, retryAfterMs: number): Admission {
  switch (outcome) {
    case 1:
      return { ok: false, code: 'rate_limit_exceeded', limit: 'requests per second', retryAfterMs };
    case 2:
      return { ok: false, code: 'token_quota_exceeded', limit: 'tokens per minute', retryAfterMs };
    case 3:
      return { ok: false, code: 'token_quota_exceeded', limit: 'tokens per day', retryAfterMs };
    default:
      return { ok: false, code: 'too_many_concurrent_requests', limit: 'concurrent requests', retryAfterMs };
  }
}
