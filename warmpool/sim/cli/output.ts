import type { RunSummary } from '../engine/metrics.ts';
import type { JobResult, SimSetup } from '../jobs/types.ts';
import type { Trace } from '../trace/types.ts';

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

/** One policy's figures as the JSON line carries them. */
export function jobRecord(r: JobResult): Record<string, unknown> & RunSummary & { policy: string } {
  return {
    policy: r.job.policy,
    ...r.summary,
    knobs: r.job.knobs,
    ...(r.job.swept ? { knob: r.job.swept.name, value: r.job.swept.value } : {}),
    elapsed_s: round(r.elapsedMs / 1000, 2),
  };
}

/** The JSON object of a run (`--json` prints it as the last line). */
export function runRecord(
  trace: Trace,
  setup: SimSetup,
  results: readonly JobResult[],
  elapsedMs: number,
): Record<string, unknown> {
  const main = results.filter((r) => !r.job.swept);
  const sweep = results.filter((r) => r.job.swept);
  return {
    policies: main.map(jobRecord),
    ...(sweep.length > 0 ? { sweep: sweep.map(jobRecord) } : {}),
    trace: {
      file: trace.file,
      format: trace.format,
      deployments: trace.deployments.length,
      requests: trace.requests,
      minutes: (trace.endMs - trace.startMs) / 60_000,
      service_times: trace.serviceTimes,
    },
    settings: {
      seed: setup.seed,
      cold_start_ms: setup.coldStartMs,
      slots: setup.slots,
      tick_ms: setup.tickMs,
      max_instances: setup.maxInstances,
    },
    elapsed_s: round(elapsedMs / 1000, 2),
  };
}

/** A fixed-width table a person reads. */
export function table(results: readonly JobResult[]): string {
  const head = [
    'policy',
    'setting',
    'requests',
    'cold %',
    'wait p50 ms',
    'wait p99 ms',
    'inst-h',
    'idle inst-h',
    'run s',
  ];
  const rows = results.map((r) => {
    const s = r.summary;
    const knobs = Object.entries(r.job.knobs).map(([k, v]) => `${k}=${v}`);
    return [
      r.job.policy,
      r.job.swept ? `${r.job.swept.name}=${r.job.swept.value}` : knobs.length ? knobs.join(' ') : 'default',
      String(s.requests),
      s.cold_start_pct.toFixed(3),
      s.wait_ms_p50.toFixed(1),
      s.wait_ms_p99.toFixed(1),
      (s.instance_seconds / 3600).toFixed(1),
      (s.idle_instance_seconds / 3600).toFixed(1),
      (r.elapsedMs / 1000).toFixed(1),
    ];
  });
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
