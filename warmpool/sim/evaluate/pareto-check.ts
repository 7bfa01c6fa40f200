/** One point of a policy's trade-off: idle instance-seconds against cold starts. */
export interface TradePoint {
  readonly idle: number;
  readonly cold: number;
  readonly label: string;
}

/**
 * Cold starts on `curve` (any order) at idle `idle`, linear between the two points around it; undefined
 * outside the curve's idle range (nothing says what it would do there).
 */
export function coldAt(curve: readonly TradePoint[], idle: number): number | undefined {
  const pts = [...curve].sort((a, b) => a.idle - b.idle || a.cold - b.cold);
  // The lower envelope: a point with more idle and more cold starts than one before it is dominated.
  const hull: TradePoint[] = [];
  for (const p of pts) if (hull.length === 0 || p.cold < hull.at(-1)!.cold) hull.push(p);
  if (hull.length === 0 || idle < hull[0]!.idle) return undefined;
  if (idle >= hull.at(-1)!.idle) return hull.at(-1)!.cold;
  for (let i = 1; i < hull.length; i++) {
    const a = hull[i - 1]!;
    const b = hull[i]!;
    if (idle <= b.idle) return a.cold + ((b.cold - a.cold) * (idle - a.idle)) / (b.idle - a.idle || 1);
  }
  return undefined;
}

/** The verdict at one baseline point: the candidate policy's cold starts at the same idle cost. */
export interface PointVerdict {
  readonly baseline: TradePoint;
  readonly candidate: number | undefined;
  /** candidate / baseline cold starts (undefined outside the candidate's range). */
  readonly ratio: number | undefined;
  /** At most half the baseline's cold starts. */
  readonly half: boolean;
  /** No more than the baseline's. */
  readonly notWorse: boolean;
}

export function verdictAt(candidate: readonly TradePoint[], baseline: TradePoint): PointVerdict {
  const p = coldAt(candidate, baseline.idle);
  const ratio =
    p === undefined ? undefined : baseline.cold === 0 ? (p === 0 ? 1 : Infinity) : p / baseline.cold;
  return {
    baseline,
    candidate: p,
    ratio,
    half: p !== undefined && p <= baseline.cold / 2,
    notWorse: p !== undefined && p <= baseline.cold,
  };
}
