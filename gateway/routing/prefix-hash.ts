/**
 * Chained hashes of a prompt's leading blocks: block i's hash covers bytes [0, (i+1)·blockBytes), so two
 * prompts share hash i exactly when they share that whole prefix (up to 32-bit collisions, which only
 * cost a routing choice). Full blocks only, like the engine's prefix cache.
 */
export function prefixBlockHashes(prompt: string, blockBytes: number, maxBlocks: number): number[] {
  const bytes = Buffer.from(prompt, 'utf8');
  const blocks = Math.min(maxBlocks, Math.floor(bytes.length / blockBytes));
  const out = new Array<number>(blocks);
  let h = 0x811c9dc5; // FNV-1a offset basis; the running state chains each block to its parent
  for (let b = 0; b < blocks; b++) {
    for (let i = b * blockBytes; i < (b + 1) * blockBytes; i++) {
      h ^= bytes[i]!;
      h = Math.imul(h, 0x01000193);
    }
    out[b] = h >>> 0;
  }
  return out;
}
