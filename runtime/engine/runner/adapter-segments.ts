/*
 * How a step's tokens meet their adapters (graph/lora.ts): tokens are grouped by adapter slot and each
 * group is cut into segments of at most P tokens, so an adapter's matrices are gathered once per
 * segment, not once per token (S-LoRA's segmented gather, padded to one width so the graph stays a
 * batched MatMul). A prefill chunk of 200 tokens under one adapter becomes a few segments instead of 200
 * copies of the same A and B; 64 decodes under 64 adapters stay 64 segments of one token.
 */

/** The segment layout of one step: U segments of P token indices each, padded with a real token. */
export interface AdapterSegments {
  readonly segments: number;
  readonly width: number;
  /** [U]: each segment's adapter slot. */
  readonly segmentSlot: BigInt64Array;
  /** [U, P]: the tokens of each segment; padding repeats the segment's first token (its output is unread). */
  readonly segmentTokens: BigInt64Array;
  /** [T]: each token's row in the flattened [U * P] grid. */
  readonly tokenRow: BigInt64Array;
}

/**
 * Groups tokens by slot and picks the width P (a power of two) that moves the fewest floats. A segment
 * gathers its adapter's A and B, rank·(in + out) floats per target; each of its P cells gathers a token's
 * input and writes its output, (in + out). So a segment costs (rank + P)·(in + out), whatever the targets.
 */
export function adapterSegments(tokenSlots: ArrayLike<number>, rank: number): AdapterSegments {
  const groups = new Map<number, number[]>();
  for (let t = 0; t < tokenSlots.length; t++) {
    const slot = tokenSlots[t]!;
    let g = groups.get(slot);
    if (g === undefined) groups.set(slot, (g = []));
    g.push(t);
  }
  const longest = Math.max(1, ...[...groups.values()].map((g) => g.length));
  const count = (p: number) => [...groups.values()].reduce((n, g) => n + Math.ceil(g.length / p), 0);
  let width = 1;
  let best = count(1) * (rank + 1);
  for (let p = 2; p < 2 * longest; p *= 2) {
    const cost = count(p) * (rank + p);
    if (cost < best) [width, best] = [p, cost];
  }
  const segments = count(width);
  const segmentSlot = new BigInt64Array(segments);
  const segmentTokens = new BigInt64Array(segments * width);
  const tokenRow = new BigInt64Array(tokenSlots.length);
  let u = 0;
  for (const [slot, tokens] of groups) {
    for (let i = 0; i < tokens.length; i += width, u++) {
      segmentSlot[u] = BigInt(slot);
      for (let j = 0; j < width; j++) {
        const t = tokens[Math.min(i + j, tokens.length - 1)]!;
        segmentTokens[u * width + j] = BigInt(t);
        if (i + j < tokens.length) tokenRow[t] = BigInt(u * width + j);
      }
    }
  }
  return { segments, width, segmentSlot, segmentTokens, tokenRow };
}
