import { sample, type SamplerParams } from '../../runtime/engine/sampling/sampler.ts';
import { Rng } from '../../runtime/engine/sampling/rng.ts';
import type { Reference } from './reference.ts';

/*
 * Float16 attention (PagedAttention, a float16 step) rounds a prefill chunk differently from a decode,
 * and one batch shape differently from another, so two runs of one request may part where two tokens
 * are all but tied. These decide whether a parting is such a tie by the float32 reference
 * (reference.onnx), never by the runs themselves: a parting anywhere else is a bug.
 */

/** The first position where two token lists differ, or -1 when they are the same. */
export function firstDifference(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** The reference's row for the token after `tokens`. */
async function nextRow(ref: Reference, tokens: readonly number[], vocab: number): Promise<Float32Array> {
  const all = await ref.logits(tokens);
  return all.slice((tokens.length - 1) * vocab, tokens.length * vocab);
}

/**
 * Greedy runs that part after `shared` with tokens `a` and `b`: how far apart the reference scores the
 * two there, in log-probability (a tie is 0).
 */
export async function greedyGap(
  ref: Reference,
  vocab: number,
  context: readonly number[],
  a: number,
  b: number,
): Promise<number> {
  const row = await nextRow(ref, context, vocab);
  return Math.abs(row[a]! - row[b]!);
}

/**
 * Seeded sampling runs that part after `context` (the prompt and the `k` tokens both sampled) with
 * tokens `a` and `b`: whether the sampler, given the reference's row there and the draw the request's
 * seed makes for token k (Rng.fromSeed(seed, stream), one draw a token), picks both within `margin` of
 * that draw, so that a shift of the row within the bounds moves the draw across their boundary.
 */
export async function sampledTie(
  ref: Reference,
  vocab: number,
  context: readonly number[],
  k: number,
  a: number,
  b: number,
  params: SamplerParams & { seed: number },
  stream: number,
  margin: number,
  eosTokenIds: readonly number[],
): Promise<boolean> {
  const rng = Rng.fromSeed(params.seed, stream);
  for (let i = 0; i < k; i++) rng.next();
  const u = rng.next();
  const row = await nextRow(ref, context, vocab);
  const picked = new Set<number>();
  for (let v = u - margin; v <= u + margin + 1e-12; v += margin / 8) {
    const draw = Math.min(Math.max(v, 0), 1 - 2 ** -32);
    picked.add(sample(row.slice(), 0, vocab, params, { next: () => draw }, eosTokenIds).token);
  }
  return picked.has(a) && picked.has(b);
}
