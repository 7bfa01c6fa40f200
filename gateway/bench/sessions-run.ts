/**
 * npm run bench:sessions [-- --json] [--requests 2000] [--time-scale 0.1] [--all-turns] [--instances 4] [--kv-mb 16]
 *
 * Generative sessions against routing without them: the Mooncake conversation trace replayed through the
 * gateway (as bench:gateway's part 2) twice on fresh instances, once with prefix routing alone and once
 * with each request carrying its conversation (x-warmgate-session; turns inferred from the trace's
 * blocks, mooncake-sessions.ts). Of the trace's first `requests`, only the conversations of two turns or
 * more are replayed (their arrival times kept) unless --all-turns: single-turn requests are the same
 * under both routings. Saved prefill tokens = Σ the instances' prefix-cache hit tokens.
 */
import { parseArgs } from 'node:util';
import { conversationIds } from './mooncake-sessions.ts';
import { loadMooncake, unboundedPrefixHitRate } from './mooncake.ts';
import { runRoutingBench } from './routing-bench.ts';

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
const results = await runRoutingBench(
  {
    requests,
    instances: Number(o.instances),
    model: o.model,
    kvMb: Number(o['kv-mb']),
    intraOpThreads: Number(o['instance-threads']),
    via: 'gateway',
    runs: ['prefix', 'prefix+session'],
  },
  log,
);
const row = (run: string) => results.find((r) => r.run === run)!;
const summary = Object.fromEntries(
  (['prefix', 'prefix+session'] as const).map((run) => {
    const r = row(run);
    return [
      run,
      {
        saved_prefill_tokens: r.prefixHitTokens,
        prefix_hit_rate: r.prefixHitRate,
        ttft_p50_ms: Math.round(r.replay.ttftP50Ms * 10) / 10,
        ttft_p99_ms: Math.round(r.replay.ttftP99Ms * 10) / 10,
        errors: r.replay.errors,
      },
    ];
  }),
);
log('');
for (const [run, s] of Object.entries(summary))
  log(
    `${run.padEnd(15)} saved prefill tokens ${s.saved_prefill_tokens} (hit rate ${s.prefix_hit_rate?.toFixed(3)}), TTFT p50 ${s.ttft_p50_ms} ms p99 ${s.ttft_p99_ms} ms, errors ${s.errors}`,
  );
if (o.json)
  console.log(
    JSON.stringify({
      requests: requests.length,
      conversations,
      prompt_tokens: promptTokens,
      time_scale: Number(o['time-scale']),
      instances: Number(o.instances),
      ...summary,
    }),
  );
