import { linesOf, readBytes } from './data-files.ts';

/** One request of a replayed trace, lengths already scaled to the model. */
export interface WorkloadRequest {
  /** Milliseconds since the first request. */
  readonly arrivalMs: number;
  readonly prompt: number[];
  readonly maxTokens: number;
  /** A LoRA adapter the engine has loaded (bench:lora); none: the base model. */
  readonly adapter?: string;
}

export interface WorkloadOptions {
  tracePath: string;
  corpusPath: string;
  contextLength: number;
  /** Multiplies the trace's prompt and output lengths (the trace's requests are longer than the model's context). */
  lengthScale: number;
  count: number;
  /**
   * The model's tokenizer: the corpus is encoded with it and prompts are cut from the token ids. Without
   * one the corpus bytes are the ids (warmgate's byte-level models).
   */
  encode?: (text: string) => number[];
}

/**
 * The Azure LLM 2023 conversation trace in arrival order, with prompt and output lengths multiplied by
 * `lengthScale` (rounded, at least 1) and the prompt cut so prompt + output fits the context. Prompt
 * text is the corpus read from a deterministic offset, so a real model sees real text (in its own
 * tokens, with `encode`).
 */
export async function loadWorkload(o: WorkloadOptions): Promise<WorkloadRequest[]> {
  const rows: string[] = [];
  for await (const { line, n } of linesOf(o.tracePath)) {
    if (rows.length >= o.count) break;
    if (n > 1 && line.trim() !== '') rows.push(line);
  }
  const bytes = await readBytes(o.corpusPath);
  const corpus = o.encode ? o.encode(Buffer.from(bytes).toString('utf8')) : bytes;
  const out: WorkloadRequest[] = [];
  let t0: number | null = null;
  for (const [i, row] of rows.entries()) {
    const [stamp, ctx, gen] = row.split(',');
    const at = Date.parse(`${stamp!.slice(0, 23).replace(' ', 'T')}Z`);
    t0 ??= at;
    const maxTokens = Math.max(1, Math.round(Number(gen) * o.lengthScale));
    const promptLen = Math.max(
      1,
      Math.min(Math.round(Number(ctx) * o.lengthScale), o.contextLength - maxTokens),
    );
    const start = (i * 7919 * 13) % (corpus.length - promptLen);
    out.push({ arrivalMs: at - t0, prompt: [...corpus.slice(start, start + promptLen)], maxTokens });
  }
  return out;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
