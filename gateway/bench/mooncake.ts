import { DATA, linesOf } from '../../runtime/bench/data-files.ts';

/** One Mooncake request, scaled to the byte-level demo model. */
export interface MooncakeRequest {
  /** Arrival, ms after the trace's first request, already multiplied by timeScale. */
  readonly atMs: number;
  /** The concatenation of its blocks' texts (1 byte = 1 token). */
  readonly prompt: string;
  readonly maxTokens: number;
  /** The blocks the prompt is made of (the trace's, cut to maxBlocks). */
  readonly hashIds: readonly number[];
}

export interface MooncakeOptions {
  /** The first `limit` requests of the trace. */
  readonly limit: number;
  /** Bytes (= tokens) that stand for one of the trace's 512-token blocks. Default 16, the engine's KV block. */
  readonly blockBytes?: number;
  /** Multiplies arrival times (0.25: four times as fast). Default 1. */
  readonly timeScale?: number;
  /** Longest prompt + output, in tokens. Default 900, inside the demo model's context of 1024. */
  readonly maxTotalTokens?: number;
  /** Output length = round(output_length / outputDivisor), clamped to [1, maxOutputTokens]. Default 64. */
  readonly outputDivisor?: number;
  /** Default 16. */
  readonly maxOutputTokens?: number;
  /**
   * The trace's timestamps come in ~3 s steps; spread each step's requests over the gap to the next step
   * (a fixed pseudo-random offset per request), as the trace's README suggests. Default true.
   */
  readonly jitter?: boolean;
  /** Default data/traces/mooncake_conversation_trace.jsonl.gz (shipped with the repository). */
  readonly path?: string;
}

/** The trace's step between timestamps, used when no later step is known. */
const DEFAULT_STEP_MS = 3000;

interface TraceRow {
  timestamp: number;
  input_length: number;
  output_length: number;
  hash_ids: number[];
}

/** 32-bit mix of an integer (murmur3's finaliser): the seed for a block's bytes and a request's jitter. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A fixed block of printable ASCII for a hash id: equal ids, equal text; different ids, different text. */
export function blockText(hashId: number, blockBytes: number): string {
  let state = mix(hashId ^ 0x9e3779b9) || 1;
  let s = '';
  for (let i = 0; i < blockBytes; i++) {
    state ^= state << 13; // xorshift32
    state ^= state >>> 17;
    state ^= state << 5;
    s += String.fromCharCode(0x20 + ((state >>> 0) % 95)); // ' ' .. '~'
  }
  return s;
}

/** Scales parsed trace rows to requests. */
function scaleMooncake(rows: readonly TraceRow[], o: MooncakeOptions): MooncakeRequest[] {
  const blockBytes = o.blockBytes ?? 16;
  const timeScale = o.timeScale ?? 1;
  const maxOutput = o.maxOutputTokens ?? 16;
  const divisor = o.outputDivisor ?? 64;
  const maxBlocks = Math.floor(((o.maxTotalTokens ?? 900) - maxOutput) / blockBytes);
  if (maxBlocks < 1) throw new Error(`maxTotalTokens leaves no room for one ${blockBytes}-byte block`);
  const texts = new Map<number, string>();
  const text = (id: number) => {
    let t = texts.get(id);
    if (t === undefined) texts.set(id, (t = blockText(id, blockBytes)));
    return t;
  };
  // The next distinct timestamp after each row (a backward pass), for the jitter's step.
  const nextStamp = new Array<number | undefined>(rows.length);
  for (let i = rows.length - 2; i >= 0; i--) {
    const next = rows[i + 1]!;
    nextStamp[i] = next.timestamp > rows[i]!.timestamp ? next.timestamp : nextStamp[i + 1];
  }
  const taken = rows.slice(0, o.limit);
  const t0 = taken[0]?.timestamp ?? 0;
  const out = taken.map((r, i) => {
    let at = r.timestamp - t0;
    if (o.jitter ?? true) {
      const step = (nextStamp[i] ?? r.timestamp + DEFAULT_STEP_MS) - r.timestamp;
      at += (mix(i + 1) / 2 ** 32) * step;
    }
    const hashIds = r.hash_ids.slice(0, maxBlocks);
    return {
      atMs: at * timeScale,
      prompt: hashIds.map(text).join(''),
      maxTokens: Math.min(maxOutput, Math.max(1, Math.round(r.output_length / divisor))),
      hashIds,
    };
  });
  return out.sort((a, b) => a.atMs - b.atMs);
}

/**
 * The Mooncake conversation trace as requests for the demo model: each 512-token block of the trace
 * becomes `blockBytes` fixed bytes chosen by its hash id, so requests that share blocks share prompt
 * prefixes exactly as in the trace; prompts are cut to whole blocks so prompt + output fits.
 */
export async function loadMooncake(o: MooncakeOptions): Promise<MooncakeRequest[]> {
  const rows: TraceRow[] = [];
  // One more row than asked: the last request's step ends at the next row's timestamp.
  for await (const { line } of linesOf(o.path ?? DATA.mooncakeConversation)) {
    if (rows.length > o.limit) break;
    if (line.trim()) rows.push(JSON.parse(line) as TraceRow);
  }
  return scaleMooncake(rows, o);
}

/**
 * The prefix hit rate one unbounded cache would reach over these requests in order (hit tokens over
 * prompt tokens): each request hits its leading blocks seen before. The ceiling for any routing.
 */
export function unboundedPrefixHitRate(requests: readonly MooncakeRequest[]): number {
  const seen = new Set<number>();
  let hit = 0;
  let total = 0;
  for (const r of requests) {
    const blockBytes = r.hashIds.length ? r.prompt.length / r.hashIds.length : 0;
    let k = 0;
    while (k < r.hashIds.length && seen.has(r.hashIds[k]!)) k++;
    hit += k * blockBytes;
    total += r.prompt.length;
    for (const id of r.hashIds) seen.add(id);
  }
  return total ? hit / total : 0;
}
