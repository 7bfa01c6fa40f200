/**
 * TTFT as a fixed log-bucket histogram, so that replicas' counts merge by adding and a p90 of the union
 * comes out of the sum (exact samples would have to travel to merge). Bucket 0 holds [0, 1) ms; bucket
 * i >= 1 holds [R^(i-1), R^i) ms with R = 2^(1/8): each bucket is about 9% wide, and a quantile read back
 * is its bucket's geometric middle, within about 4.5% of the exact one.
 */
export const TTFT_BUCKET_RATIO = 2 ** (1 / 8);

/** The last bucket takes everything from about 4.7 hours up. */
const LAST = 8 * 24;

export function ttftBucket(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(LAST, 1 + Math.floor(Math.log2(ms) * 8));
}

/** The value a bucket stands for: its geometric middle (0.5 ms for [0, 1)). */
function middleOf(bucket: number): number {
  return bucket === 0 ? 0.5 : TTFT_BUCKET_RATIO ** (bucket - 0.5);
}

/**
 * The q-quantile of the counts (bucket -> count), ranked as the exact figure is (the ceil(q n)-th
 * smallest); null when there are none.
 */
export function ttftQuantile(counts: ReadonlyMap<number, number>, q: number): number | null {
  let n = 0;
  for (const c of counts.values()) n += c;
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(n * q));
  let seen = 0;
  for (const b of [...counts.keys()].sort((x, y) => x - y)) {
    seen += counts.get(b)!;
    if (seen >= rank) return middleOf(b);
  }
  return middleOf(LAST);
}
