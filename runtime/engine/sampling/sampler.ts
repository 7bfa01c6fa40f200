import { GREEDY_ROW_WIDTH } from '../../model/graph/index.ts';
import type { SamplingParams } from './params.ts';
import type { RandomSource } from './rng.ts';

export interface TokenLogprob {
  readonly token: number;
  readonly logprob: number;
}

export interface SampleResult {
  readonly token: number;
  /** log-softmax of the raw row (temperature 1, no truncation, EOS not masked) at `token`. */
  readonly logprob: number;
  /** The `params.logprobs` most likely tokens of the raw row, most likely first, lower id first on ties. */
  readonly top: TokenLogprob[];
}

export type SamplerParams = Pick<SamplingParams, 'temperature' | 'topK' | 'topP' | 'logprobs' | 'ignoreEos'>;

// Scratch reused across calls (JS is single-threaded and nothing here yields): sample() runs once per
// token per sequence, and fresh vocab-sized arrays each time would cost more than the sampling itself.
let heap = new Int32Array(0);
let kept = new Int32Array(0);
let weights = new Float64Array(0);
const topIds = new Int32Array(20);
const topVals = new Float64Array(20);

/**
 * Picks the next token from the row `logits[offset, offset + vocabSize)`.
 *
 * Greedy (temperature 0) is argmax, lowest id on ties, and draws nothing from `rng`. Otherwise the
 * row is scaled by 1/temperature, cut to the top-k, then to the nucleus of the survivors, and exactly
 * one `rng.next()` is drawn, so a seeded sequence's draws never depend on what else is in the batch.
 *
 * `eosTokenIds` are needed only with `params.ignoreEos`, which masks those logits for the choice (the
 * reported logprobs still see the raw row). A model may declare several (Llama 3: <|end_of_text|> and
 * <|eot_id|>). NaN logits count as -Infinity; a row with no finite logit,
 * or with +Infinity, is a broken model output and throws.
 */
export function sample(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  params: SamplerParams,
  rng: RandomSource,
  eosTokenIds?: readonly number[],
): SampleResult {
  if (!Number.isInteger(offset) || !Number.isInteger(vocabSize) || offset < 0 || vocabSize < 1) {
    throw new RangeError(`bad row: offset ${offset}, vocabSize ${vocabSize}`);
  }
  if (offset + vocabSize > logits.length) {
    throw new RangeError(`row [${offset}, ${offset + vocabSize}) is past the end of ${logits.length} logits`);
  }
  const masked = params.ignoreEos ? checkedEos(eosTokenIds, vocabSize) : NONE;
  const logZ = logSumExp(logits, offset, vocabSize);
  // Masked ids read as -Infinity for the choice only: set for it, restored before the logprobs.
  const saved = masked.map((id) => logits[offset + id]!);
  for (const id of masked) logits[offset + id] = Number.NEGATIVE_INFINITY;
  let token: number;
  try {
    token =
      params.temperature === 0
        ? argmax(logits, offset, vocabSize)
        : draw(logits, offset, vocabSize, params, rng);
  } finally {
    masked.forEach((id, i) => (logits[offset + id] = saved[i]!));
  }
  return {
    token,
    logprob: logits[offset + token]! - logZ,
    top: params.logprobs > 0 ? topLogprobs(logits, offset, vocabSize, params.logprobs, logZ) : [],
  };
}

/**
 * Whether `params` choose from a row's argmax and its logprob alone (greedy, no alternatives reported):
 * then the device's greedy rows (graph/greedy-rows.ts) stand for the whole row, with EOS masked out of
 * the choice or not.
 */
export const greedyRowSuffices = (params: SamplerParams): boolean =>
  params.temperature === 0 && params.logprobs === 0;

/**
 * A greedy choice from the device's greedy rows (graph/greedy-rows.ts: GREEDY_ROW_WIDTH floats a row,
 * the argmax and its logprob, then the same with EOS masked), as sample() would make it from the row.
 */
export function greedyFromRows(greedy: Float32Array, row: number, ignoreEos = false): SampleResult {
  const at = GREEDY_ROW_WIDTH * row + (ignoreEos ? 2 : 0);
  const token = greedy[at];
  const logprob = greedy[at + 1];
  if (token === undefined || logprob === undefined)
    throw new RangeError(`greedy row ${row} is past the end of ${greedy.length / GREEDY_ROW_WIDTH} rows`);
  if (!Number.isFinite(logprob))
    throw new RangeError(`logit row ${row} has a NaN or infinite logit (greedy logprob ${logprob})`);
  return { token, logprob, top: [] };
}

function logSumExp(logits: Float32Array, offset: number, vocabSize: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = offset; i < offset + vocabSize; i++) {
    const x = logits[i]!;
    if (x > max) max = x;
  }
  if (max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY) {
    throw new RangeError(`logit row has no usable maximum (${max})`);
  }
  let sum = 0;
  for (let i = offset; i < offset + vocabSize; i++) {
    const x = logits[i]!;
    if (x > Number.NEGATIVE_INFINITY) sum += Math.exp(x - max);
  }
  return max + Math.log(sum);
}

const NONE: readonly number[] = [];

function checkedEos(ids: readonly number[] | undefined, vocabSize: number): readonly number[] {
  if (
    ids === undefined ||
    ids.length === 0 ||
    ids.some((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize)
  ) {
    throw new RangeError(`ignoreEos needs eos ids inside the vocabulary, got ${JSON.stringify(ids)}`);
  }
  return ids;
}

function argmax(logits: Float32Array, offset: number, vocabSize: number): number {
  let best = -1;
  let bestX = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocabSize; i++) {
    const x = logits[offset + i]!;
    // Strictly greater: the lowest id keeps a tie.
    if (x > bestX) {
      best = i;
      bestX = x;
    }
  }
  if (best < 0) throw new RangeError('every token is masked or has logit -Infinity');
  return best;
}

function draw(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  params: SamplerParams,
  rng: RandomSource,
): number {
  if (heap.length < vocabSize) {
    heap = new Int32Array(vocabSize);
    kept = new Int32Array(vocabSize);
    weights = new Float64Array(vocabSize);
  }
  // Candidates are the tokens that can be drawn at all; the max makes exp() safe from overflow.
  let n = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocabSize; i++) {
    const x = logits[offset + i]!;
    if (x > Number.NEGATIVE_INFINITY) {
      heap[n++] = i;
      if (x > max) max = x;
    }
  }
  if (n === 0) throw new RangeError('every token is masked or has logit -Infinity');
  const invT = 1 / params.temperature;
  const k = params.topK > 0 && params.topK < n ? params.topK : n;
  const u = rng.next();

  if (k === n && params.topP >= 1) {
    // No truncation: draw straight from the scaled row in id order, no ordering needed.
    let total = 0;
    for (let j = 0; j < n; j++) {
      const w = Math.exp((logits[offset + heap[j]!]! - max) * invT);
      weights[j] = w;
      total += w;
    }
    return pick(heap, n, total * u);
  }

  // Truncation needs tokens in order of probability, but only as many as survive: a max-heap gives
  // them one at a time in O(n + m log n) for m survivors, instead of sorting the whole vocabulary.
  for (let j = (n >> 1) - 1; j >= 0; j--) siftDown(logits, offset, j, n);
  let size = n;
  let popped = 0;

  // The nucleus is taken over the top-k survivors, so their total mass is the reference.
  let mass = 0;
  if (k < n) {
    for (; popped < k; popped++) popInto(logits, offset, size--, popped, max, invT);
    for (let j = 0; j < k; j++) mass += weights[j]!;
  } else {
    for (let j = 0; j < n; j++) mass += Math.exp((logits[offset + heap[j]!]! - max) * invT);
  }
  const target = params.topP * mass;
  let m = 0;
  let cum = 0;
  while (m < k) {
    if (m === popped) popInto(logits, offset, size--, popped++, max, invT);
    cum += weights[m]!;
    m++;
    if (cum >= target) break;
  }
  return pick(kept, m, cum * u);
}

/** Moves the heap's top token (heap of `size`) to `kept[slot]` with its scaled weight. */
function popInto(
  logits: Float32Array,
  offset: number,
  size: number,
  slot: number,
  max: number,
  invT: number,
) {
  const id = heap[0]!;
  heap[0] = heap[size - 1]!;
  siftDown(logits, offset, 0, size - 1);
  kept[slot] = id;
  weights[slot] = Math.exp((logits[offset + id]! - max) * invT);
}

/** The token whose cumulative weight first exceeds `point`; the last weighted one if rounding runs out. */
function pick(ids: Int32Array, count: number, point: number): number {
  let acc = 0;
  let last = ids[0]!;
  for (let j = 0; j < count; j++) {
    const w = weights[j]!;
    if (w > 0) last = ids[j]!;
    acc += w;
    if (point < acc) return ids[j]!;
  }
  return last;
}

/** Max-heap of token ids by logit; a lower id counts as larger on ties so the order is deterministic. */
function siftDown(logits: Float32Array, offset: number, start: number, size: number): void {
  let i = start;
  const id = heap[i]!;
  const x = logits[offset + id]!;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    const right = child + 1;
    if (right < size && before(logits, offset, heap[right]!, heap[child]!)) child = right;
    const c = heap[child]!;
    const cx = logits[offset + c]!;
    if (!(cx > x || (cx === x && c < id))) break;
    heap[i] = c;
    i = child;
  }
  heap[i] = id;
}

function before(logits: Float32Array, offset: number, a: number, b: number): boolean {
  const xa = logits[offset + a]!;
  const xb = logits[offset + b]!;
  return xa > xb || (xa === xb && a < b);
}

/** The `count` highest raw logprobs by insertion into a short sorted list: O(vocab) for count <= 20. */
function topLogprobs(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  count: number,
  logZ: number,
): TokenLogprob[] {
  const limit = Math.min(count, vocabSize, topIds.length);
  let filled = 0;
  for (let i = 0; i < vocabSize; i++) {
    const x = logits[offset + i]!;
    if (Number.isNaN(x)) continue;
    if (filled === limit && !(x > topVals[limit - 1]!)) continue;
    let j = filled < limit ? filled++ : limit - 1;
    // Strictly greater moves up: an earlier (lower) id stays ahead on ties.
    while (j > 0 && x > topVals[j - 1]!) {
      topVals[j] = topVals[j - 1]!;
      topIds[j] = topIds[j - 1]!;
      j--;
    }
    topVals[j] = x;
    topIds[j] = i;
  }
  const top: TokenLogprob[] = new Array(filled);
  for (let j = 0; j < filled; j++) top[j] = { token: topIds[j]!, logprob: topVals[j]! - logZ };
  return top;
}
