/**
 * A UTC date-time to the 100 ns of a 7-digit fraction, kept as two exact integers: epoch time in
 * 100 ns steps (~1.7e16) is past the 2^53 a double holds exactly, so one number would round it.
 */
export interface UtcTime {
  /** Whole seconds since the epoch. */
  readonly seconds: number;
  /** 100 ns steps within the second, 0 to 9,999,999. */
  readonly ticks: number;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

/** "2023-11-16 18:15:46.6805900" (no zone: UTC), or undefined for anything else, invalid dates included. */
export function parseUtcDateTime(s: string): UtcTime | undefined {
  const m = DATE_TIME.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  const back = new Date(ms);
  // Date.UTC rolls 2023-02-30 over into March: a date that does not come back as written is not a date.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  if (h > 23 || mi > 59 || sec > 59) return undefined;
  return { seconds: ms / 1000, ticks: Number((m[7] ?? '').padEnd(7, '0')) };
}

/** 100 ns steps in a millisecond. */
export const TICKS_PER_MS = 10_000;

/** 100 ns steps from `a` to `b` (negative if `b` is earlier): an exact integer within 28 years. */
export function ticksBetween(a: UtcTime, b: UtcTime): number {
  return (b.seconds - a.seconds) * 10_000_000 + (b.ticks - a.ticks);
}
