/**
 * npm run bench:sessions [-- --json] [--requests 2000] [--time-scale 0.1] [--all-turns] [--instances 4] [--kv-mb 16]
 *
 * Generative sessions against routing without them: the Mooncake conversation trace replayed through the
 * gateway (as bench:gateway's part 2) three times in one run, each on fresh instances: least-load routing
 * (no prefix affinity, no sessions: the baseline), prefix routing, and prefix routing with each request
 * carrying its conversation (x-warmgate-session; turns inferred from the trace's blocks,
 * mooncake-sessions.ts). Of the trace's first `requests`, only the conversations of two turns or more are
 * replayed (their arrival times kept) unless --all-turns: single-turn requests are the same under every
 * routing. Saved prefill tokens = Σ the instances' prefix-cache hit tokens; prefill tokens = Σ looked up
 * less the hits. Ratios are against least load.
 */
import { parseArgs } from 'node:util';
import { conversationIds } from './mooncake-sessions.ts';
import { loadMooncake, unboundedPrefixHitRate } from './mooncake.ts';
import { runRoutingBench, type RoutingRun } from './routing-bench.ts';
import { summariseArms } from './sessions-summary.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    requests: { type: 'string', default: '2000' },
    'time-scale': { type: 'string', default: '0.1' },
    'all-turns': { type: 'boolean', default: false },
    instances: { type: 'string', default: '4' },
    'kv-mb': { type: 'string', default: '16' },
    'instance-threads': { type: 'string', default: '1' },
    model: { type: 'string', default: 'runtime/models/demo' },
  },
});
const log = (s: string) => (o.json ? process.stderr : process.stdout).write(`${s}\n`);

const trace = await loadMooncake({
  limit: Number(o.requests),
  blockBytes: 16,
  timeScale: Number(o['time-scale']),
});
const ids = conversationIds(trace);
const turns = new Map<string, number>();
for (const id of ids) turns.set(id, (turns.get(id) ?? 0) + 1);
const requests = trace
  .map((r, i) => ({ ...r, session: ids[i]! }))
  .filter((r) => o['all-turns'] || turns.get(r.session)! >= 2);
const conversations = new Set(requests.map((r) => r.session)).size;
const promptTokens = requests.reduce((a, r) => a + r.prompt.length, 0);
log(
  `${requests.length} Mooncake requests (${promptTokens} prompt tokens) in ${conversations} inferred conversations ` +
    `(${requests.length - conversations} later turns); one unbounded cache would save ` +
    `${Math.round(unboundedPrefixHitRate(requests) * promptTokens)} prompt tokens`,
);
// The baseline first: on a shared machine, later arms run under whatever load has come since.
const ARMS: readonly RoutingRun[] = ['least-load', 'prefix', 'prefix+session'];
const results = await runRoutingBench(
  {
    requests,
    instances: Number(o.instances),
    model: o.model,
    kvMb: Number(o['kv-mb']),
    intraOpThreads: Number(o['instance-threads']),
    via: 'gateway',
    runs: ARMS,
  },
  log,
);
const summary = summariseArms(results, 'least-load');
log('');
for (const [run, s] of Object.entries(summary))
  log(
    `${run.padEnd(15)} prefill tokens ${s.prefill_tokens} (×${s.vs_baseline.prefill_tokens} of least load), ` +
      `saved ${s.saved_prefill_tokens} (×${s.vs_baseline.saved_prefill_tokens}, hit rate ${s.prefix_hit_rate}), ` +
      `TTFT p50 ${s.ttft_p50_ms} ms (×${s.vs_baseline.ttft_p50}) p90 ${s.ttft_p90_ms} ms (×${s.vs_baseline.ttft_p90}) ` +
      `p99 ${s.ttft_p99_ms} ms, errors ${s.errors}`,
  );
if (o.json)
  console.log(
    JSON.stringify({
      requests: requests.length,
      conversations,
      prompt_tokens: promptTokens,
      time_scale: Number(o['time-scale']),
      instances: Number(o.instances),
      baseline: 'least-load',
      ...summary,
    }),
  );
