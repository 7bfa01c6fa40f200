/**
 * npm run sim:evaluate -- [--policy costaware] [--traces a.csv.gz,b.jsonl.gz] [--limit-functions N]
 *                         [--workers N] [--report DIR] [--json]
 *
 * A policy (default costaware) against the baselines on every shipped trace (data/traces/): swept over its
 * knob (costaware's: the cost of a cold start), keep-alive from 1 minute to 1 hour, the histogram policy
 * over its tail percentile, reactive over its scale-to-zero grace. At the idle cost of every baseline
 * point, the policy's cold starts are read off its curve (linear between its points): the target is at
 * most half the baseline's, and never more (README.md in this folder).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { planJobs } from '../cli/plan.ts';
import { runJobs } from '../jobs/run-jobs.ts';
import type { JobResult, SimSetup } from '../jobs/types.ts';
import { writeReport } from '../report/write-report.ts';
import { DEFAULT_TOKEN_MODEL, readTrace, type DeploymentTrace } from '../trace/index.ts';
import { verdictAt, type PointVerdict, type TradePoint } from './pareto-check.ts';

const DATA = new URL('../../../../data/traces/', import.meta.url).pathname;
const TRACES = [
  'azure_functions_2019_invitro1000_invocations.csv.gz',
  'azure_llm_2023_conv.csv.gz',
  'mooncake_conversation_trace.jsonl.gz',
];
const BASELINES = ['keepalive', 'histogram', 'reactive'] as const;

interface Args {
  policy: string;
  traces: string[];
  limitFunctions?: number;
  workers: number;
  report: string;
  json: boolean;
}

/** The command line, read by node:util's parseArgs (unknown flags and missing values throw). */
function parse(argv: string[]): Args {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string', default: 'costaware' },
      traces: { type: 'string', default: TRACES.join(',') },
      'limit-functions': { type: 'string' },
      workers: { type: 'string', default: '2' },
      report: { type: 'string', default: 'sim-evaluation' },
      json: { type: 'boolean', default: false },
    },
  });
  return {
    policy: o.policy,
    traces: o.traces.split(','),
    ...(o['limit-functions'] !== undefined && { limitFunctions: Number(o['limit-functions']) }),
    workers: Number(o.workers),
    report: o.report,
    json: o.json,
  };
}

const point = (r: JobResult): TradePoint => ({
  idle: r.summary.idle_instance_seconds,
  cold: r.summary.cold_starts,
  label: r.job.swept ? `${r.job.policy} ${r.job.swept.name}=${r.job.swept.value}` : `${r.job.policy} default`,
});

async function evaluate(file: string, a: Args) {
  const setup: SimSetup = {
    trace: {
      file: file.includes('/') ? file : join(DATA, file),
      serviceMs: 1000,
      tokenModel: DEFAULT_TOKEN_MODEL,
      skipInvalid: false,
      ...(a.limitFunctions !== undefined && { limitFunctions: a.limitFunctions }),
    },
    seed: 1,
    coldStartMs: 10_000,
    slots: 8,
    tickMs: 2000,
    maxInstances: 10_000,
  };
  const trace = await readTrace(setup.trace);
  const opening = openingColdStarts(trace.deployments, setup.coldStartMs, setup.slots, setup.seed);
  const jobs = planJobs([a.policy, ...BASELINES], {}, true).filter((j) => j.swept);
  const t0 = performance.now();
  const results = await runJobs(setup, jobs, a.workers, (r) => console.error(`  ${point(r).label}`), trace);
  const curve = results.filter((r) => r.job.policy === a.policy).map(point);
  const verdicts: PointVerdict[] = results
    .filter((r) => r.job.policy !== a.policy)
    .map((r) => verdictAt(curve, point(r)));
  const name = file
    .split('/')
    .at(-1)!
    .replace(/\.(csv|jsonl)(\.gz)?$/, '');
  const dir = join(a.report, name);
  mkdirSync(dir, { recursive: true });
  writeReport(dir, {
    title: `warmgate scaling evaluation: ${name}`,
    notes: [
      `${trace.requests} requests, ${trace.deployments.length} deployments; cold start 10 s, 8 slots, tick 2 s`,
    ],
    results,
  });
  return {
    name,
    requests: trace.requests,
    deployments: trace.deployments.length,
    opening,
    curve,
    verdicts,
    elapsedS: (performance.now() - t0) / 1000,
  };
}

const pct = (n: number, of: number) => ((100 * n) / of).toFixed(3);

/**
 * A floor no online policy goes below: nothing is known of a deployment before its first arrival, so the
 * arrivals before an instance started then could be ready wait for it, up to its slots (more may wait
 * for a slot on it rather than for a cold start, so only its slots are counted).
 */
function openingColdStarts(
  deployments: readonly DeploymentTrace[],
  coldStartMs: number,
  slots: number,
  seed: number,
): number {
  let n = 0;
  for (const d of deployments) {
    const at = d.requestsFor(seed).at;
    if (at.length === 0) continue;
    let first = Infinity;
    for (const t of at) first = Math.min(first, t);
    const ready = first + (d.coldStartMs ?? coldStartMs);
    let waiting = 0;
    for (const t of at) if (t < ready) waiting++;
    n += Math.min(waiting, d.slots ?? slots);
  }
  return n;
}

/** The ratio of cold starts past the opening ones (undefined outside the policy's range). */
function beyondOpening(v: PointVerdict, opening: number): string {
  if (v.candidate === undefined) return '';
  const b = v.baseline.cold - opening;
  return b <= 0 ? 'n/a' : ((v.candidate - opening) / b).toFixed(2);
}

async function main() {
  const a = parse(process.argv.slice(2));
  const all = [];
  for (const t of a.traces) {
    console.error(`${t}:`);
    all.push(await evaluate(t, a));
  }
  const lines = [
    `| trace | baseline point | idle inst-h | baseline cold % | ${a.policy} cold % (same idle) | ratio | ≤ half | ≤ baseline | ratio past the opening |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const e of all)
    for (const v of e.verdicts)
      lines.push(
        `| ${e.name} | ${v.baseline.label} | ${(v.baseline.idle / 3600).toFixed(1)} | ${pct(v.baseline.cold, e.requests)} | ${v.candidate === undefined ? 'below its range' : pct(v.candidate, e.requests)} | ${v.ratio === undefined ? '' : v.ratio.toFixed(2)} | ${v.half ? 'yes' : '**no**'} | ${v.notWorse ? 'yes' : '**no**'} | ${beyondOpening(v, e.opening)} |`,
      );
  const curves = all.map(
    (e) =>
      `${e.name}: ${[...e.curve]
        .sort((x, y) => x.idle - y.idle)
        .map((p) => `${p.label.split('=')[1]}: ${(p.idle / 3600).toFixed(1)} h / ${pct(p.cold, e.requests)}%`)
        .join(', ')}`,
  );
  const openings = all.map((e) => `${e.name}: ${e.opening} (${pct(e.opening, e.requests)}%)`);
  const met = all.every((e) => e.verdicts.every((v) => v.half && v.notWorse));
  const text = [
    ...lines,
    '',
    `${a.policy} curves (knob value: idle inst-h / cold %):`,
    ...curves,
    '',
    "opening cold starts (a floor: each deployment's first arrival and those within a cold start of it, up to an instance's slots):",
    ...openings,
    '',
    `target met on every trace: ${met}`,
  ].join('\n');
  writeFileSync(join(a.report, 'evaluation.md'), text + '\n');
  console.log(text);
  if (a.json) console.log(JSON.stringify({ met, traces: all }));
}

main().catch((e: unknown) => {
  const usage = e instanceof RangeError || (e instanceof TypeError && 'code' in e);
  console.error(usage ? `sim:evaluate: ${(e as Error).message}` : e);
  process.exitCode = usage ? 2 : 1;
});
