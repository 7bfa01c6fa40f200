// FNV-1a; the running state chains each block to its parent.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Chained hashes of a prompt's leading blocks of tokens: block i's hash covers tokens
 * [0, (i+1)·blockTokens), so two prompts share hash i exactly when they share that whole prefix (up to
 * 32-bit collisions, which only cost a routing choice). Full blocks only, like the engine's prefix cache.
 * A string is a byte-level model's prompt, whose tokens are its UTF-8 bytes; ids are hashed one per step
 * as bytes are, so a byte model's ids hash as its text does.
 *
 * `adapter`: the adapter the prompt runs under. Instances key their prefix cache by adapter (the same
 * prompt under two adapters has different KV), so its hashes start from the adapter's.
 */
export function prefixBlockHashes(
  prompt: string | readonly number[],
  blockTokens: number,
  maxBlocks: number,
  adapter?: string,
): number[] {
  const start = adapter === undefined ? FNV_OFFSET : fnv(FNV_OFFSET, Buffer.from(adapter, 'utf8'));
  // Two loops rather than one over either: each indexes one kind of array, as the byte path always has.
  return typeof prompt === 'string'
    ? hashBytes(Buffer.from(prompt, 'utf8'), blockTokens, maxBlocks, start)
    : hashIds(prompt, blockTokens, maxBlocks, start);
}

function fnv(h: number, bytes: Uint8Array): number {
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

function hashBytes(bytes: Uint8Array, blockTokens: number, maxBlocks: number, start: number): number[] {
  const blocks = Math.min(maxBlocks, Math.floor(bytes.length / blockTokens));
  const out = new Array<number>(blocks);
  let h = start;
  for (let b = 0; b < blocks; b++) {
    for (let i = b * blockTokens; i < (b + 1) * blockTokens; i++) {
      h ^= bytes[i]!;
      h = Math.imul(h, FNV_PRIME);
    }
    out[b] = h >>> 0;
  }
  return out;
}

function hashIds(ids: readonly number[], blockTokens: number, maxBlocks: number, start: number): number[] {
  const blocks = Math.min(maxBlocks, Math.floor(ids.length / blockTokens));
  const out = new Array<number>(blocks);
  let h = start;
  for (let b = 0; b < blocks; b++) {
    for (let i = b * blockTokens; i < (b + 1) * blockTokens; i++) {
      h ^= ids[i]!;
      h = Math.imul(h, FNV_PRIME);
    }
    out[b] = h >>> 0;
  }
  return out;
}
