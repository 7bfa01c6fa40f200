import { DEFAULT_SAMPLING_PARAMS, type Engine } from '../engine/index.ts';
import type { WorkloadRequest } from './workload.ts';

export interface RunResult {
  readonly wallMs: number;
  readonly outputTokens: number;
  readonly ttftMs: number[];
  readonly tpotMs: number[];
}

const params = (maxTokens: number) => ({
  ...DEFAULT_SAMPLING_PARAMS,
  temperature: 0,
  maxTokens,
  ignoreEos: true,
});

interface Timing {
  submitted: number;
  first: number;
  done: number;
  tokens: number;
}

/**
 * Submits one request and resolves when it has finished, with its first-token and finish times.
 * `useful` caps the tokens counted as output (static batching's padding is computed, not counted).
 */
async function one(engine: Engine, r: WorkloadRequest, useful = r.maxTokens): Promise<Timing> {
  const submitted = performance.now();
  const res = engine.submit({
    prompt: r.prompt,
    params: params(r.maxTokens),
    ...(r.adapter !== undefined && { adapter: r.adapter }),
  });
  if (!res.ok) throw new Error(`benchmark request refused: ${res.error.code}: ${res.error.message}`);
  let first = 0;
  let tokens = 0;
  for await (const ev of res.events) {
    if (ev.type !== 'token') continue;
    if (tokens === 0) first = performance.now();
    tokens++;
  }
  return { submitted, first, done: performance.now(), tokens: Math.min(tokens, useful) };
}

function summarise(started: number, runs: Timing[]): RunResult {
  return {
    wallMs: performance.now() - started,
    outputTokens: runs.reduce((a, r) => a + r.tokens, 0),
    ttftMs: runs.map((r) => r.first - r.submitted),
    tpotMs: runs.filter((r) => r.tokens > 1).map((r) => (r.done - r.first) / (r.tokens - 1)),
  };
}

/** Continuous batching at saturation: everything is submitted at once and joins as slots free up. */
export async function runContinuous(engine: Engine, reqs: readonly WorkloadRequest[]): Promise<RunResult> {
  const started = performance.now();
  return summarise(started, await Promise.all(reqs.map((r) => one(engine, r))));
}

/**
 * Classic static batching (as in FasterTransformer or a padded `generate` call): a batch of `batch`
 * forms in arrival order, its prompts padded to the longest, and every member decodes until the longest
 * output is done. Padding is computed but only each request's own tokens count as output.
 */
export async function runStatic(
  engine: Engine,
  reqs: readonly WorkloadRequest[],
  batch: number,
  contextLength: number,
): Promise<RunResult> {
  const started = performance.now();
  const runs: Timing[] = [];
  for (let i = 0; i < reqs.length; i += batch) {
    const group = reqs.slice(i, i + batch);
    const longestPrompt = Math.max(...group.map((r) => r.prompt.length));
    const longestOutput = Math.min(Math.max(...group.map((r) => r.maxTokens)), contextLength - longestPrompt);
    const padded = group.map((r) => ({
      ...r,
      prompt: [...new Array<number>(longestPrompt - r.prompt.length).fill(32), ...r.prompt],
      maxTokens: longestOutput,
    }));
    runs.push(...(await Promise.all(padded.map((r, j) => one(engine, r, group[j]!.maxTokens)))));
  }
  return summarise(started, runs);
}

/** Static batching without padding: a batch forms and no request joins until all have left. */
export async function runStaticShrinking(
  engine: Engine,
  reqs: readonly WorkloadRequest[],
  batch: number,
): Promise<RunResult> {
  const started = performance.now();
  const runs: Timing[] = [];
  for (let i = 0; i < reqs.length; i += batch) {
    runs.push(...(await Promise.all(reqs.slice(i, i + batch).map((r) => one(engine, r)))));
  }
  return summarise(started, runs);
}

/** One request at a time. */
export async function runSequential(engine: Engine, reqs: readonly WorkloadRequest[]): Promise<RunResult> {
  const started = performance.now();
  const runs: Timing[] = [];
  for (const r of reqs) runs.push(await one(engine, r));
  return summarise(started, runs);
}

/** Open-loop replay: request i is submitted at arrivalMs[i] * timeScale, whatever the engine is doing. */
export async function runPaced(
  engine: Engine,
  reqs: readonly WorkloadRequest[],
  timeScale: number,
): Promise<RunResult> {
  const started = performance.now();
  const runs = reqs.map(
    (r) =>
      new Promise<Timing>((resolve, reject) => {
        setTimeout(() => one(engine, r).then(resolve, reject), r.arrivalMs * timeScale);
      }),
  );
  return summarise(started, await Promise.all(runs));
}
