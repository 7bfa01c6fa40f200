import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Series } from '../engine/metrics.ts';
import { jobLabel } from '../jobs/job-label.ts';
import type { JobResult } from '../jobs/types.ts';
import { esc, lineChart, type Line } from './svg-chart.ts';

export interface ReportInput {
  readonly title: string;
  /** Lines of context under the title (trace, settings). */
  readonly notes: readonly string[];
  readonly results: readonly JobResult[];
}

/** Sums a per-minute series into bins of `k` minutes (a day of minutes is too dense to read). */
function rebin(s: Float64Array, k: number, mean: boolean): Float64Array {
  const out = new Float64Array(Math.ceil(s.length / k));
  for (let i = 0; i < s.length; i++) out[Math.floor(i / k)]! += s[i]!;
  if (mean) for (let j = 0; j < out.length; j++) out[j]! /= Math.min(k, s.length - j * k);
  return out;
}

function timeLine(name: string, series: Series, values: Float64Array, k: number): Line {
  const hours = (j: number) => (series.startMs + j * k * series.binMs) / 3_600_000;
  return { name, points: Array.from(values, (v, j) => [hours(j), v] as const) };
}

/**
 * Writes `dir`/index.html (results table and the plots inline) and each plot as its own SVG file:
 * demand, warm instances per policy, cold starts per policy, and the Pareto curve of cold-start %
 * against idle instance-hours through each policy's swept knob values.
 */
export function writeReport(dir: string, r: ReportInput): string {
  mkdirSync(dir, { recursive: true });
  const main = r.results.filter((x) => !x.job.swept);
  const sweep = r.results.filter((x) => x.job.swept);
  const first = r.results[0];
  const plots: { file: string; svg: string; caption: string }[] = [];
  if (first) {
    const s = first.series;
    const k = s.arrivals.length > 360 ? 10 : 1;
    const xLabel = 'hours from the start of the trace';
    plots.push({
      file: 'demand.svg',
      caption: 'Arrivals per minute, all deployments.',
      svg: lineChart({
        title: 'Demand',
        xLabel,
        yLabel: 'arrivals per minute',
        lines: [timeLine('arrivals', s, s.arrivals, 1)],
      }),
    });
    plots.push({
      file: 'warm-instances.svg',
      caption: `Ready instances (mean over ${k}-minute bins), all deployments.`,
      svg: lineChart({
        title: 'Warm instances',
        xLabel,
        yLabel: 'ready instances',
        lines: main.map((m) => timeLine(jobLabel(m.job), m.series, rebin(m.series.warm, k, true), k)),
      }),
    });
    plots.push({
      file: 'cold-starts.svg',
      caption: `Requests that waited for a starting instance, per ${k} minutes.`,
      svg: lineChart({
        title: 'Cold starts',
        xLabel,
        yLabel: `cold starts per ${k} min`,
        lines: main.map((m) => timeLine(jobLabel(m.job), m.series, rebin(m.series.coldStarts, k, false), k)),
      }),
    });
  }
  const curve = sweep.length > 0 ? sweep : main;
  const byPolicy = new Map<string, JobResult[]>();
  for (const x of curve) byPolicy.set(jobLabel(x.job), [...(byPolicy.get(jobLabel(x.job)) ?? []), x]);
  const pareto: Line[] = [...byPolicy].map(([name, xs]) => {
    const sorted = [...xs].sort((a, b) => a.summary.idle_instance_seconds - b.summary.idle_instance_seconds);
    return {
      name,
      markers: true,
      points: sorted.map((x) => [x.summary.idle_instance_seconds / 3600, x.summary.cold_start_pct] as const),
      labels: sorted.map((x) => (x.job.swept ? `${x.job.swept.value}` : '')),
    };
  });
  plots.push({
    file: 'pareto.svg',
    caption:
      sweep.length > 0
        ? 'Cold-start % against idle instance-hours, one line per policy through its swept knob (labels: knob values).'
        : 'Cold-start % against idle instance-hours at each policy’s setting (run with --sweep for curves).',
    svg: lineChart({
      title: 'Cold starts vs idle capacity',
      xLabel: 'idle instance-hours',
      yLabel: 'cold-start %',
      lines: pareto,
    }),
  });
  for (const p of plots) writeFileSync(join(dir, p.file), p.svg);

  const rows = r.results
    .map((x) => {
      const s = x.summary;
      const setting = x.job.swept
        ? `${x.job.swept.name}=${x.job.swept.value}`
        : Object.entries(x.job.knobs)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ') || 'default';
      const cells = [
        jobLabel(x.job),
        setting,
        s.requests,
        s.cold_start_pct.toFixed(3),
        s.wait_ms_p50.toFixed(1),
        s.wait_ms_p99.toFixed(1),
        (s.instance_seconds / 3600).toFixed(1),
        (s.idle_instance_seconds / 3600).toFixed(1),
      ];
      return `<tr>${cells.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}
figure{margin:2em 0}figcaption{color:#555}</style></head><body>
<h1>${esc(r.title)}</h1>
${r.notes.map((n) => `<p>${esc(n)}</p>`).join('\n')}
<table><tr><th>policy</th><th>setting</th><th>requests</th><th>cold %</th><th>wait p50 ms</th><th>wait p99 ms</th><th>instance-h</th><th>idle instance-h</th></tr>
${rows}
</table>
${plots.map((p) => `<figure>${p.svg.replace(/^<svg /, '<svg role="img" ')}<figcaption>${esc(p.caption)} (<a href="${p.file}">${p.file}</a>)</figcaption></figure>`).join('\n')}
</body></html>
`;
  const index = join(dir, 'index.html');
  writeFileSync(index, html);
  return index;
}
