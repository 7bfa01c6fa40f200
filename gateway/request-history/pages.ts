import { pageKey } from './keys.ts';
import { bucketStart } from './resolutions.ts';
import type { Resolution } from './types.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Bytes per bucket in a page: an unsigned 32-bit big-endian arrival count (BITFIELD u32, saturating). */
export const PAGE_SLOT_BYTES = 4;

/**
 * Arrivals only, packed: one Redis string per (model, resolution, page) holding one u32 per bucket, so a
 * reader gets an hour of seconds or a day of minutes with one GETRANGE instead of thousands of HGETALLs.
 * Sub-minute buckets are paged by the hour, coarser ones by the day; a resolution that divides neither
 * has no pages.
 */
function pageMsOf(bucketMs: number): number | null {
  const pageMs = bucketMs < MINUTE ? HOUR : DAY;
  return pageMs % bucketMs === 0 ? pageMs : null;
}

/** Where one bucket's arrivals live, and when Redis may drop the page (its last bucket's expiry). */
export interface PageSlot {
  pageStart: number;
  slot: number;
  expireAt: number;
}

export function pageSlotOf(at: number, res: Resolution): PageSlot | null {
  const pageMs = pageMsOf(res.bucketMs);
  if (pageMs === null) return null;
  const pageStart = bucketStart(at, pageMs);
  const slot = (bucketStart(at, res.bucketMs) - pageStart) / res.bucketMs;
  return { pageStart, slot, expireAt: pageStart + pageMs + res.retentionMs };
}

/** One GETRANGE: the page holding [from, to) of one resolution, as inclusive byte offsets. */
export interface PageRead {
  key: string;
  /** Start of the first bucket read. */
  from: number;
  /** Buckets read. */
  count: number;
  firstByte: number;
  lastByte: number;
}

/** The page reads that cover the buckets starting in [from, to) (both multiples of bucketMs). */
export function pageReads(
  prefix: string,
  model: string,
  bucketMs: number,
  from: number,
  to: number,
): PageRead[] {
  const pageMs = pageMsOf(bucketMs);
  if (pageMs === null) throw new RangeError(`history pages: no pages for ${bucketMs} ms buckets`);
  const out: PageRead[] = [];
  for (let a = from; a < to;) {
    const pageStart = bucketStart(a, pageMs);
    const b = Math.min(to, pageStart + pageMs);
    const first = (a - pageStart) / bucketMs;
    const count = (b - a) / bucketMs;
    out.push({
      key: pageKey(prefix, model, bucketMs, pageStart),
      from: a,
      count,
      firstByte: first * PAGE_SLOT_BYTES,
      lastByte: (first + count) * PAGE_SLOT_BYTES - 1,
    });
    a = b;
  }
  return out;
}
