import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readText } from '../../runtime/bench/data-files.ts';
import { buildConversations, type ConversationOptions, type SoakRequest } from './conversations.ts';
import { FALLBACK_TEXT } from './fallback-text.ts';
import { planSchedule, type ScheduleMapping, type ScheduleOptions } from './schedule.ts';
import { parseConvTrace } from './trace.ts';

export interface WorkloadOptions {
  readonly tracePath: string;
  readonly corpusPath: string;
  /** The model's folder: its model.json gives the context length. */
  readonly modelPath: string;
  /** Tokens of the context kept free (prompt + max_tokens ≤ context − margin). */
  readonly contextMargin: number;
  readonly schedule: Omit<ScheduleOptions, 'maxTotalTokens'>;
  readonly conversations: ConversationOptions;
  /** Requests sent before measuring, 100 ms apart, from the trace's start with another seed. */
  readonly warmup: number;
}

export interface Workload {
  readonly requests: readonly SoakRequest[];
  readonly warmup: readonly SoakRequest[];
  readonly mapping: ScheduleMapping;
  readonly contextLength: number;
  readonly corpus: string;
}

/**
 * Reads the trace, the corpus (or the built-in text) and the model's context, and builds the requests.
 * Either file may be gzipped (`.gz`), as the repository ships them in data/.
 */
export async function loadWorkload(o: WorkloadOptions): Promise<Workload> {
  const manifest = JSON.parse(readFileSync(join(o.modelPath, 'model.json'), 'utf8')) as {
    architecture: { context_length: number };
  };
  const contextLength = manifest.architecture.context_length;
  const { requests: planned, mapping } = planSchedule(parseConvTrace(await readText(o.tracePath)), {
    ...o.schedule,
    maxTotalTokens: contextLength - o.contextMargin,
  });
  let text = FALLBACK_TEXT;
  let corpus = `built-in text (${o.corpusPath} not readable)`;
  try {
    text = await readText(o.corpusPath);
    corpus = o.corpusPath;
  } catch {
    // a corpus that cannot be read gives way to the built-in text
  }
  const warmup = buildConversations(planned.slice(0, o.warmup), text, {
    ...o.conversations,
    seed: o.conversations.seed + 1,
  }).map((r, i) => ({ ...r, atMs: i * 100 })); // spread out: warms JIT, pools and caches without a burst
  return {
    requests: buildConversations(planned, text, o.conversations),
    warmup,
    mapping,
    contextLength,
    corpus,
  };
}

/** How the trace was mapped onto this run, in words. */
export function describeWorkload(w: Workload, o: WorkloadOptions): string[] {
  const m = w.mapping;
  const continued = w.requests.filter((r) => r.turn > 1).length;
  return [
    `trace ${o.tracePath}: ${m.traceRequests} requests over ${m.traceSpanS} s (${m.traceMeanRps} req/s), ` +
      `prompt mean ${m.tracePromptMean}, output mean ${m.traceOutputMean} tokens`,
    `time × ${m.timeFactor} (${o.schedule.minutes} min): ${m.compressedMeanRps} req/s; thinned evenly to ` +
      `${(m.keptFraction * 100).toFixed(1)}% (max ${o.schedule.maxRps} req/s on average): ${m.requests} ` +
      `requests, ${m.offeredMeanRps} req/s mean, ${m.offeredPeakRps} at most in one second`,
    `tokens × ${m.tokenScale}, output ≤ ${o.schedule.maxOutputTokens}, prompt + output ≤ ${w.contextLength} − ` +
      `${o.contextMargin}: prompt mean ${m.promptMean} (max ${m.promptMax}), output mean ${m.outputMean}; ` +
      `${m.outputCapped} outputs capped, ${m.promptCut} prompts cut, ${m.promptRaised} raised to ` +
      `${o.schedule.minPromptTokens}`,
    `prompts: chat messages from ${w.corpus}; ${continued} of ${w.requests.length} requests continue a ` +
      `conversation (reuse ${o.conversations.reuse}), ${o.conversations.systemPrompts} shared system prompts; ` +
      `${w.warmup.length} warm-up requests`,
  ];
}
