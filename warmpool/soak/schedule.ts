import type { TraceRow } from './trace.ts';

/** One request of the soak before it has text: when, how long its prompt is, how many tokens it asks for. */
export interface PlannedRequest {
  /** Milliseconds after the soak starts. */
  readonly atMs: number;
  /** The whole prompt as the model sees it (chat template included), in tokens (bytes). */
  readonly promptTokens: number;
  readonly maxTokens: number;
}

export interface ScheduleOptions {
  /** The trace's time span is compressed (or stretched) to this many minutes. */
  readonly minutes: number;
  /**
   * Mean offered rate cap, requests/s: when the compressed trace is faster, it is thinned evenly (every
   * k-th request kept), so its ramp and bursts keep their shape at a lower level.
   */
  readonly maxRps: number;
  /** Prompt and output lengths are multiplied by this (the trace is for models with long contexts). */
  readonly tokenScale: number;
  /** Longest prompt + max_tokens; the model's context less a margin. */
  readonly maxTotalTokens: number;
  readonly maxOutputTokens: number;
  /** Shortest prompt: room for the chat template and a few words. */
  readonly minPromptTokens: number;
}

/** How the trace was mapped onto this run, printed with the results. */
export interface ScheduleMapping {
  readonly traceRequests: number;
  readonly traceSpanS: number;
  readonly traceMeanRps: number;
  /** Soak time per trace time (10 min from 58 min: 0.17). */
  readonly timeFactor: number;
  readonly compressedMeanRps: number;
  /** Fraction of the trace's requests kept to stay under maxRps. */
  readonly keptFraction: number;
  readonly requests: number;
  readonly spanS: number;
  readonly offeredMeanRps: number;
  /** Most requests planned to arrive in one second of the soak. */
  readonly offeredPeakRps: number;
  readonly tokenScale: number;
  readonly tracePromptMean: number;
  readonly traceOutputMean: number;
  readonly promptMean: number;
  readonly outputMean: number;
  readonly promptMax: number;
  /** Requests whose output hit maxOutputTokens, whose prompt was cut to fit, or raised to the minimum. */
  readonly outputCapped: number;
  readonly promptCut: number;
  readonly promptRaised: number;
}

export interface Schedule {
  readonly requests: readonly PlannedRequest[];
  readonly mapping: ScheduleMapping;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The trace as the soak's requests: times scaled to `minutes`, thinned evenly to at most `maxRps` on
 * average, lengths scaled by `tokenScale`, then output capped and the prompt cut so that prompt +
 * output fits `maxTotalTokens`. Deterministic: the same rows and options give the same schedule.
 */
export function planSchedule(rows: readonly TraceRow[], o: ScheduleOptions): Schedule {
  if (!(o.minutes > 0)) throw new RangeError(`minutes must be > 0, got ${o.minutes}`);
  if (!(o.maxRps > 0)) throw new RangeError(`maxRps must be > 0, got ${o.maxRps}`);
  if (!(o.tokenScale > 0)) throw new RangeError(`tokenScale must be > 0, got ${o.tokenScale}`);
  if (o.minPromptTokens + 1 > o.maxTotalTokens)
    throw new RangeError(`maxTotalTokens ${o.maxTotalTokens} leaves no room for a prompt and one token`);
  const targetMs = o.minutes * 60_000;
  const traceSpanMs = rows.length > 1 ? rows[rows.length - 1]!.atMs - rows[0]!.atMs : 0;
  const timeFactor = traceSpanMs > 0 ? targetMs / traceSpanMs : 1;
  const compressedMeanRps = (1000 * rows.length) / targetMs;
  const keptFraction = Math.min(1, o.maxRps / compressedMeanRps);
  const maxOutput = Math.min(o.maxOutputTokens, o.maxTotalTokens - o.minPromptTokens);
  let outputCapped = 0;
  let promptCut = 0;
  let promptRaised = 0;
  const requests: PlannedRequest[] = [];
  const t0 = rows[0]?.atMs ?? 0;
  rows.forEach((r, i) => {
    // Even thinning: keep row i when the running count of kept rows steps up.
    if (Math.floor((i + 1) * keptFraction) === Math.floor(i * keptFraction)) return;
    let maxTokens = Math.max(1, Math.round(r.generatedTokens * o.tokenScale));
    if (maxTokens > maxOutput) {
      maxTokens = maxOutput;
      outputCapped++;
    }
    let promptTokens = Math.round(r.contextTokens * o.tokenScale);
    if (promptTokens + maxTokens > o.maxTotalTokens) {
      promptTokens = o.maxTotalTokens - maxTokens;
      promptCut++;
    } else if (promptTokens < o.minPromptTokens) {
      promptTokens = o.minPromptTokens;
      promptRaised++;
    }
    requests.push({ atMs: (r.atMs - t0) * timeFactor, promptTokens, maxTokens });
  });
  const perSecond = new Map<number, number>();
  for (const r of requests) {
    const s = Math.floor(r.atMs / 1000);
    perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
  }
  const spanMs = requests.length > 1 ? requests[requests.length - 1]!.atMs : 0;
  return {
    requests,
    mapping: {
      traceRequests: rows.length,
      traceSpanS: round(traceSpanMs / 1000, 1),
      traceMeanRps: round(traceSpanMs > 0 ? (1000 * rows.length) / traceSpanMs : 0, 2),
      timeFactor: round(timeFactor, 4),
      compressedMeanRps: round(compressedMeanRps, 2),
      keptFraction: round(keptFraction, 4),
      requests: requests.length,
      spanS: round(spanMs / 1000, 1),
      offeredMeanRps: round((1000 * requests.length) / targetMs, 2),
      offeredPeakRps: Math.max(0, ...perSecond.values()),
      tokenScale: o.tokenScale,
      tracePromptMean: round(mean(rows.map((r) => r.contextTokens)), 1),
      traceOutputMean: round(mean(rows.map((r) => r.generatedTokens)), 1),
      promptMean: round(mean(requests.map((r) => r.promptTokens)), 1),
      outputMean: round(mean(requests.map((r) => r.maxTokens)), 1),
      promptMax: Math.max(0, ...requests.map((r) => r.promptTokens)),
      outputCapped,
      promptCut,
      promptRaised,
    },
  };
}
