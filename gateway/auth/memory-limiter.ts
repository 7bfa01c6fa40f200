import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { burstOf, type KeyLimits } from './key-record.ts';
import { type Admission, DAY_MS, type Limiter, type LimitUsage, MINUTE_MS, refusal } from './limiter.ts';

interface KeyState {
  /** Token bucket: tokens left at `at`. */
  tokens: number;
  at: number;
  minute: number;
  minuteTokens: number;
  day: number;
  dayTokens: number;
  inFlight: number;
}

/**
 * The same limits as the Redis limiter (same order of checks, same windows), for one gateway without
 * Redis. The clock is injected so tests step time instead of sleeping.
 */
export class MemoryLimiter implements Limiter {
  readonly #keys = new Map<string, KeyState>();
  readonly #clock: Clock;

  constructor(o: { clock?: Clock } = {}) {
    this.#clock = o.clock ?? systemClock;
  }

  admit(keyId: string, l: KeyLimits): Promise<Admission> {
    return Promise.resolve(this.#admit(keyId, l));
  }

  #admit(keyId: string, l: KeyLimits): Admission {
    const now = this.#clock.now();
    const s = this.#state(keyId);
    const minute = Math.floor(now / MINUTE_MS);
    const day = Math.floor(now / DAY_MS);
    if (l.tokensPerDay !== undefined && s.day === day && s.dayTokens >= l.tokensPerDay) {
      return refusal(3, (day + 1) * DAY_MS - now);
    }
    if (l.tokensPerMinute !== undefined && s.minute === minute && s.minuteTokens >= l.tokensPerMinute) {
      return refusal(2, (minute + 1) * MINUTE_MS - now);
    }
    if (l.maxConcurrentRequests !== undefined && s.inFlight >= l.maxConcurrentRequests) {
      return refusal(4, 1000); // unknown when one ends: try again in a second
    }
    if (l.requestsPerSecond !== undefined) {
      const rate = l.requestsPerSecond;
      const burst = burstOf(l);
      const tokens = Number.isNaN(s.at)
        ? burst
        : Math.min(burst, s.tokens + (Math.max(0, now - s.at) * rate) / 1000);
      if (tokens < 1) return refusal(1, Math.ceil(((1 - tokens) * 1000) / rate));
      s.tokens = tokens - 1;
      s.at = now;
    }
    if (l.maxConcurrentRequests === undefined) return { ok: true, lease: null };
    s.inFlight++;
    return { ok: true, lease: 'held' };
  }

  finish(keyId: string, lease: string | null, tokens: number): void {
    const now = this.#clock.now();
    const s = this.#state(keyId);
    if (lease !== null) s.inFlight = Math.max(0, s.inFlight - 1);
    if (tokens <= 0) return;
    const minute = Math.floor(now / MINUTE_MS);
    const day = Math.floor(now / DAY_MS);
    if (s.minute !== minute) [s.minute, s.minuteTokens] = [minute, 0];
    if (s.day !== day) [s.day, s.dayTokens] = [day, 0];
    s.minuteTokens += tokens;
    s.dayTokens += tokens;
  }

  usage(keyId: string): Promise<LimitUsage> {
    const now = this.#clock.now();
    const s = this.#keys.get(keyId);
    return Promise.resolve({
      tokensThisMinute: s?.minute === Math.floor(now / MINUTE_MS) ? s.minuteTokens : 0,
      tokensToday: s?.day === Math.floor(now / DAY_MS) ? s.dayTokens : 0,
      leases: s?.inFlight ?? 0,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #state(keyId: string): KeyState {
    let s = this.#keys.get(keyId);
    if (!s) {
      s = { tokens: 0, at: NaN, minute: -1, minuteTokens: 0, day: -1, dayTokens: 0, inFlight: 0 };
      this.#keys.set(keyId, s);
    }
    return s;
  }
}
