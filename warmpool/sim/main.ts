/**
 * npm run sim -- --trace FILE [--policy NAME|all] [--sweep] [--json] [--report [DIR]] ...
 *
 * Replays a request trace against the scaling policies in a discrete-event simulation of warm pools
 * and prints, per policy, cold starts, waits and instance-seconds (README.md in this folder).
 */
import { ArgsError, parseSimArgs, USAGE } from './cli/args.ts';
import { adapterTable } from './cli/adapter-table.ts';
import { jobRecord, ownSettings, runRecord, skippedNote, table } from './cli/output.ts';
import { planJobs } from './cli/plan.ts';
import { jobLabel } from './jobs/job-label.ts';
import { runJobs } from './jobs/run-jobs.ts';
import type { SimSetup } from './jobs/types.ts';
import type { AdapterSetup } from './adapters/run-arrangement.ts';
import { writeReport } from './report/write-report.ts';
import { readTrace, TraceError } from './trace/index.ts';

async function main(argv: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const a = parseSimArgs(argv);
  const jobs = planJobs(a.policies, a.knobs, a.sweep, a.adapters !== undefined);
  const setup: SimSetup = {
    trace: {
      file: a.trace,
      durations: a.durations,
      serviceMs: a.serviceMs,
      tokenModel: {
        prefillMsPerToken: a.prefillMsPerToken,
        decodeMsPerToken: a.decodeMsPerToken,
        overheadMs: a.overheadMs,
      },
      skipInvalid: a.skipInvalid,
      limitFunctions: a.limitFunctions,
    },
    seed: a.seed,
    coldStartMs: a.coldStartMs,
    slots: a.slots,
    tickMs: a.tickMs,
    maxInstances: a.maxInstances,
    ...(a.adapters !== undefined && { adapters: a.adapters }),
  };
  const trace = await readTrace(setup.trace);
  const info = `${trace.file}: ${trace.deployments.length} deployments, ${trace.requests} requests over ${(trace.endMs - trace.startMs) / 60_000} min; service times ${trace.serviceTimes}`;
  const own = ownSettings(trace);
  const ownNote =
    own.coldStartMs + own.slots > 0
      ? ` (the trace's own cold start for ${own.coldStartMs}, slots for ${own.slots} deployments)`
      : '';
  const settings = `cold start ${a.coldStartMs} ms, ${a.slots} slots per instance${ownNote}, tick ${a.tickMs} ms, seed ${a.seed}, ${jobs.length} runs on ${a.workers || 'no'} worker threads`;
  const skipped = skippedNote(trace);
  const adapters = a.adapters && adapterNote(a.adapters, trace.deployments.length);
  console.error(info);
  console.error(settings);
  if (adapters !== undefined) console.error(adapters);
  const results = await runJobs(
    setup,
    jobs,
    a.workers,
    (r) => {
      const x = jobRecord(r);
      console.error(
        `  ${jobLabel(r.job)}${r.job.swept ? ` ${r.job.swept.name}=${r.job.swept.value}` : ''}: cold ${x.cold_start_pct}%, ${x.elapsed_s} s`,
      );
    },
    trace,
  );
  const elapsed = performance.now() - t0;
  console.log(a.adapters ? adapterTable(results) : table(results));
  if (skipped !== undefined) console.log(skipped);
  console.log(`total ${(elapsed / 1000).toFixed(1)} s`);
  if (a.report !== undefined) {
    const index = writeReport(a.report, {
      title: 'warmgate autoscaling simulation',
      notes: [
        info,
        settings,
        ...(adapters === undefined ? [] : [adapters]),
        ...(skipped === undefined ? [] : [skipped]),
        `Simulated in ${(elapsed / 1000).toFixed(1)} s.`,
      ],
      results,
    });
    console.log(`report: ${index}`);
  }
  if (a.json) console.log(JSON.stringify(runRecord(trace, setup, results, elapsed)));
  return 0;
}

/** What the adapters mode did with the trace's functions, for the log and the report. */
function adapterNote(x: AdapterSetup, functions: number): string {
  const n = Math.min(x.count, functions);
  const map = n === functions ? 'one function each' : `function i is adapter i mod ${n}`;
  return `adapters over one base: ${functions} functions as ${n} adapters (${map}); ${x.slots} adapter slots per instance, load ${x.loadMs} ms; every pool has the cold start and slots above`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ArgsError) {
      if (e.message !== 'help') console.error(`sim: ${e.message}`);
      console.error(USAGE);
      process.exitCode = 2;
    } else if (e instanceof TraceError || e instanceof RangeError) {
      console.error(`sim: ${e.message}`);
      process.exitCode = e instanceof TraceError ? 1 : 2;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  },
);
