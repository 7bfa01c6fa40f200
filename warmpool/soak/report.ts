import type { LoadSummary } from './outcome.ts';
import type { ProcessSample } from './probes.ts';

/** The last line of `--json`: exactly these keys. */
export interface SoakJson {
  readonly requests: number;
  readonly failures: number;
  readonly ttft_ms_p50: number | null;
  readonly ttft_ms_p99: number | null;
  readonly rss_mb_start: number;
  readonly rss_mb_end: number;
  readonly handles_start: number;
  readonly handles_end: number;
  /** Summed over the instances alive at the end; null when none answered /load with KV figures. */
  readonly kv_blocks_in_use_end: number | null;
}

const r1 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);

export function soakJson(
  load: LoadSummary,
  start: ProcessSample,
  end: ProcessSample,
  kvBlocksInUse: readonly (number | null)[],
): SoakJson {
  const known = kvBlocksInUse.filter((x): x is number => x !== null);
  return {
    requests: load.requests,
    failures: load.failures,
    ttft_ms_p50: r1(load.ttftP50Ms),
    ttft_ms_p99: r1(load.ttftP99Ms),
    rss_mb_start: start.rssMb,
    rss_mb_end: end.rssMb,
    handles_start: start.handles,
    handles_end: end.handles,
    kv_blocks_in_use_end:
      known.length === 0 || known.length < kvBlocksInUse.length ? null : known.reduce((a, x) => a + x, 0),
  };
}

/** Handle kinds whose count differs between two samples, e.g. { TCPSocketWrap: "3 → 5" }. */
export function handleDelta(start: ProcessSample, end: ProcessSample): Record<string, string> {
  const kinds = new Set([...Object.keys(start.byKind), ...Object.keys(end.byKind)]);
  const out: Record<string, string> = {};
  for (const k of [...kinds].sort()) {
    const a = start.byKind[k] ?? 0;
    const b = end.byKind[k] ?? 0;
    if (a !== b) out[k] = `${a} → ${b}`;
  }
  return out;
}

/** The human summary, one line each. */
export function summaryLines(j: SoakJson, load: LoadSummary, start: ProcessSample, end: ProcessSample) {
  const ms = (x: number | null) => (x === null ? 'n/a' : `${x} ms`);
  const delta = handleDelta(start, end);
  return [
    `requests ${j.requests}, failures ${j.failures}${j.failures ? `  (first: ${load.failureSamples[0]})` : ''}`,
    `TTFT p50 ${ms(j.ttft_ms_p50)}, p99 ${ms(j.ttft_ms_p99)}, max ${ms(r1(load.ttftMaxMs))}` +
      `  (${load.noContent} succeeded without a content chunk)`,
    `latency p50 ${ms(r1(load.latencyP50Ms))}, p99 ${ms(r1(load.latencyP99Ms))}`,
    `throughput ${load.rps.toFixed(2)} req/s, ${load.tokensPerS.toFixed(1)} generated tokens/s ` +
      `over ${(load.wallMs / 1000).toFixed(1)} s (client send lag max ${load.maxSendLagMs.toFixed(0)} ms)`,
    `platform process RSS ${j.rss_mb_start} → ${j.rss_mb_end} MB (${signed(j.rss_mb_end - j.rss_mb_start)} MB), ` +
      `heap ${start.heapUsedMb} → ${end.heapUsedMb} MB`,
    `open handles ${j.handles_start} → ${j.handles_end}` +
      (Object.keys(delta).length
        ? ` (${Object.entries(delta)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : ''),
    `KV blocks in use at the end: ${j.kv_blocks_in_use_end ?? 'unknown'}`,
  ];
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${(Math.round(x * 10) / 10).toFixed(1)}`;
