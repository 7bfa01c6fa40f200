/**
 * npm run sim -- --trace FILE [--policy NAME|all] [--sweep] [--json] [--report [DIR]] ...
 *
 * Replays a request trace against the scaling policies in a discrete-event simulation of warm pools
 * and prints, per policy, cold starts, waits and instance-seconds (README.md in this folder).
 */
import { ArgsError, parseSimArgs, USAGE } from './cli/args.ts';
import { jobRecord, ownSettings, runRecord, skippedNote, table } from './cli/output.ts';
import { planJobs } from './cli/plan.ts';
import { runJobs } from './jobs/run-jobs.ts';
import type { SimSetup } from './jobs/types.ts';
import { writeReport } from './report/write-report.ts';
import { readTrace, TraceError } from './trace/index.ts';

async function main(argv: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const a = parseSimArgs(argv);
  const jobs = planJobs(a.policies, a.knobs, a.sweep);
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
  console.error(info);
  console.error(settings);
  const results = await runJobs(
    setup,
    jobs,
    a.workers,
    (r) => {
      const x = jobRecord(r);
      console.error(
        `  ${x.policy}${r.job.swept ? ` ${r.job.swept.name}=${r.job.swept.value}` : ''}: cold ${x.cold_start_pct}%, ${x.elapsed_s} s`,
      );
    },
    trace,
  );
  const elapsed = performance.now() - t0;
  console.log(table(results));
  if (skipped !== undefined) console.log(skipped);
  console.log(`total ${(elapsed / 1000).toFixed(1)} s`);
  if (a.report !== undefined) {
    const index = writeReport(a.report, {
      title: 'warmgate autoscaling simulation',
      notes: [
        info,
        settings,
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
