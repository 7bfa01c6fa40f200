import type { RunSummary } from '../engine/metrics.ts';
import type { JobResult, SimJob, SimSetup } from '../jobs/types.ts';
import { DEFAULT_TOKEN_MODEL } from '../trace/index.ts';
import type { Trace } from '../trace/types.ts';

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

/** One policy's figures as the JSON line carries them. */
export function jobRecord(r: JobResult): Record<string, unknown> & RunSummary & { policy: string } {
  return {
    policy: r.job.policy,
    ...(r.job.arrangement !== undefined && { arrangement: r.job.arrangement }),
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
  const tokens = setup.trace.tokenModel ?? DEFAULT_TOKEN_MODEL;
  const own = ownSettings(trace);
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
      // Deployments simulated with the trace's own cold start or slots instead of the flags'.
      deployments_own_cold_start_ms: own.coldStartMs,
      deployments_own_slots: own.slots,
      skipped_rows: trace.skipped.rows,
      skipped_examples: trace.skipped.examples,
    },
    settings: {
      seed: setup.seed,
      cold_start_ms: setup.coldStartMs,
      slots: setup.slots,
      prefill_ms_per_token: tokens.prefillMsPerToken,
      decode_ms_per_token: tokens.decodeMsPerToken,
      overhead_ms: tokens.overheadMs,
      tick_ms: setup.tickMs,
      max_instances: setup.maxInstances,
      ...(setup.adapters !== undefined && {
        adapters_over_base: setup.adapters.count,
        // The functions become this many adapters (fewer where the trace has fewer functions).
        adapters: Math.min(setup.adapters.count, trace.deployments.length),
        adapter_slots: setup.adapters.slots,
        adapter_load_ms: setup.adapters.loadMs,
      }),
    },
    elapsed_s: round(elapsedMs / 1000, 2),
  };
}

/** The job's knob setting as a table cell. */
export function settingCell(job: SimJob): string {
  if (job.swept) return `${job.swept.name}=${job.swept.value}`;
  const knobs = Object.entries(job.knobs).map(([k, v]) => `${k}=${v}`);
  return knobs.length ? knobs.join(' ') : 'default';
}

/** Fixed-width columns: the first `left` aligned left, the others (numbers) right. */
export function fixedWidth(head: readonly string[], rows: readonly string[][], left: number): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < left ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
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
    return [
      r.job.policy,
      settingCell(r.job),
      String(s.requests),
      s.cold_start_pct.toFixed(3),
      s.wait_ms_p50.toFixed(1),
      s.wait_ms_p99.toFixed(1),
      (s.instance_seconds / 3600).toFixed(1),
      (s.idle_instance_seconds / 3600).toFixed(1),
      (r.elapsedMs / 1000).toFixed(1),
    ];
  });
  return fixedWidth(head, rows, 2);
}

/** The rows --skip-invalid left out, for the text report: how many, and the first few with why. */
export function skippedNote(trace: Trace): string | undefined {
  const { rows, examples } = trace.skipped;
  if (rows === 0) return undefined;
  const more = rows > examples.length ? `; first ${examples.length}` : '';
  return [
    `skipped ${rows} invalid row${rows === 1 ? '' : 's'} of ${trace.file} (--skip-invalid)${more}:`,
    ...examples.map((e) => `  line ${e.line}: ${e.reason}`),
  ].join('\n');
}

/** How many deployments the trace gives their own cold start, and their own slots. */
export function ownSettings(trace: Trace): { coldStartMs: number; slots: number } {
  return {
    coldStartMs: trace.deployments.filter((d) => d.coldStartMs !== undefined).length,
    slots: trace.deployments.filter((d) => d.slots !== undefined).length,
  };
}
