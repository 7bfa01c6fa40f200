/** One request of the Azure LLM inference trace (conversation service): arrival and token counts. */
export interface TraceRow {
  /** Milliseconds after the trace's first request. */
  readonly atMs: number;
  readonly contextTokens: number;
  readonly generatedTokens: number;
}

export class TraceFormatError extends Error {}

/** "2023-11-16 18:15:46.6805900" (UTC, up to 7 fractional digits) → ms since the epoch, sub-ms kept. */
export function parseTimestamp(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(s.trim());
  if (!m) throw new TraceFormatError(`not a timestamp: ${JSON.stringify(s)}`);
  const [, y, mo, d, h, mi, sec, frac = ''] = m;
  const whole = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  return whole + (frac ? Number(`0.${frac}`) * 1000 : 0);
}

/**
 * Reads `TIMESTAMP,ContextTokens,GeneratedTokens` (the header may list them in any order), sorted by
 * arrival, times relative to the first request. A malformed row throws, naming its line.
 */
export function parseConvTrace(text: string): TraceRow[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new TraceFormatError(`trace header has no ${name} column: ${lines[0] ?? ''}`);
    return i;
  };
  const [ts, ctx, gen] = [col('TIMESTAMP'), col('ContextTokens'), col('GeneratedTokens')];
  const raw: { at: number; contextTokens: number; generatedTokens: number }[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (!line.trim()) continue;
    const f = line.split(',');
    const count = (i: number) => {
      const v = Number(f[i]);
      if (!Number.isInteger(v) || v < 0)
        throw new TraceFormatError(`line ${n + 1}: ${header[i]} is not a count: ${JSON.stringify(f[i])}`);
      return v;
    };
    let at: number;
    try {
      at = parseTimestamp(f[ts] ?? '');
    } catch (e) {
      throw new TraceFormatError(`line ${n + 1}: ${(e as Error).message}`);
    }
    raw.push({ at, contextTokens: count(ctx), generatedTokens: count(gen) });
  }
  raw.sort((a, b) => a.at - b.at);
  const t0 = raw[0]?.at ?? 0;
  return raw.map((r) => ({
    atMs: r.at - t0,
    contextTokens: r.contextTokens,
    generatedTokens: r.generatedTokens,
  }));
}
