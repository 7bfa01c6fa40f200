import { createHash } from 'node:crypto';

/**
 * Hex-encoded sha256 of one full block and, through its parent, of every block before it.
 * Hex (64 chars) is readable in logs and a cheap Map key.
 */
export type BlockHash = string;

const ROOT = Uint8Array.of(0);
const CHILD = Uint8Array.of(1);
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Hash of a full block, chained to the hash of the block before it (null for the first block).
 * The model id is part of the key: the same tokens under another model must never share KV.
 */
export function hashBlock(parent: BlockHash | null, tokens: readonly number[], modelId: string): BlockHash {
  const h = createHash('sha256');
  if (parent === null) {
    h.update(ROOT);
  } else {
    if (!HEX_SHA256.test(parent)) throw new Error(`hashBlock: parent is not a hex sha256: ${parent}`);
    h.update(CHILD);
    h.update(Buffer.from(parent, 'hex'));
  }
  // Length-prefixed so that model id bytes can never run into token bytes.
  const model = Buffer.from(modelId, 'utf8');
  const modelLen = Buffer.alloc(4);
  modelLen.writeUInt32LE(model.length);
  h.update(modelLen);
  h.update(model);
  const body = Buffer.alloc(tokens.length * 4);
  for (let i = 0; i < tokens.length; i++) body.writeInt32LE(tokens[i]!, i * 4);
  h.update(body);
  return h.digest('hex');
}

/** Chained hashes of every full block within tokens[0, upTo), in order. A partial tail block is never hashed. */
export function hashFullBlocks(
  tokens: readonly number[],
  blockSize: number,
  modelId: string,
  upTo: number = tokens.length,
): BlockHash[] {
  const numFull = Math.floor(Math.min(upTo, tokens.length) / blockSize);
  const hashes: BlockHash[] = [];
  let parent: BlockHash | null = null;
  for (let i = 0; i < numFull; i++) {
    parent = hashBlock(parent, tokens.slice(i * blockSize, (i + 1) * blockSize), modelId);
    hashes.push(parent);
  }
  return hashes;
}
