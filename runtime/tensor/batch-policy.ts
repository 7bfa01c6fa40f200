/** Triton-style dynamic batching limits for one tensor function. */
export interface BatchingConfig {
  /** Most rows (sum of the requests' batch dimensions) in one ONNX Runtime call. */
  readonly maxBatchSize: number;
  /** Batch sizes the model runs best at: a batch is cut at the largest one reachable. */
  readonly preferredBatchSizes: readonly number[];
  /** How long the oldest queued request may wait for others to join. */
  readonly maxQueueDelayMs: number;
}

/**
 * How many queued requests (from the head) to run now, or null to keep waiting. Pure: the batcher
 * passes the queue's row counts, the oldest request's age and the config.
 * - Full: the queue holds maxBatchSize rows or more: take as many requests as fit.
 * - Preferred: the largest preferred size that a prefix of the queue adds up to exactly.
 * - Late: the oldest request waited maxQueueDelayMs: take what fits.
 */
export function takeBatch(rows: readonly number[], oldestAgeMs: number, c: BatchingConfig): number | null {
  if (rows.length === 0) return null;
  let total = 0;
  let fits = 0;
  const prefixSums: number[] = [];
  for (const r of rows) {
    if (total + r > c.maxBatchSize && fits > 0) break;
    total += r;
    fits++;
    prefixSums.push(total);
  }
  const queued = rows.reduce((a, b) => a + b, 0);
  if (queued >= c.maxBatchSize) return fits;
  const preferred = [...c.preferredBatchSizes].sort((a, b) => b - a);
  for (const size of preferred) {
    const at = prefixSums.indexOf(size);
    if (at >= 0) return at + 1;
  }
  if (oldestAgeMs >= c.maxQueueDelayMs) return fits;
  return null;
}
