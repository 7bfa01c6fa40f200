import { type BlockHash, hashBlock } from './block-hash.ts';
import { BlockPool } from './block-pool.ts';

export interface KVCacheConfig {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly modelId: string;
  readonly enablePrefixCaching: boolean;
  /** Blocks per attention tile (see BlockPool); 1 when the runtime reads blocks one by one. */
  readonly tileBlocks?: number;
}

/** Cached full blocks at the head of a prompt. Only valid until the next allocation: pass it straight on. */
export interface CachedPrefix {
  readonly blocks: readonly number[];
  readonly numTokens: number;
}

/** Copy the KV of block `src` into `dst` before writing into `dst`. */
export interface BlockCopy {
  readonly src: number;
  readonly dst: number;
}

export interface AllocationResult {
  /** Fresh blocks appended to the table, in table order (excludes prefix hits and copy destinations). */
  readonly newBlocks: number[];
  /** Copy-on-write: `dst` replaced `src` in this sequence's table. */
  readonly copies: BlockCopy[];
}

export interface KVCacheStats {
  readonly numBlocks: number;
  readonly blockSize: number;
  /** Blocks an allocation may take: plain free plus evictable cached. */
  readonly freeBlocks: number;
  /** Free blocks that still hold a cached prefix (a subset of freeBlocks). */
  readonly cachedBlocks: number;
  /** Blocks with ref > 0. */
  readonly usedBlocks: number;
  /** usedBlocks / numBlocks. */
  readonly usage: number;
  readonly prefixQueriedTokens: number;
  readonly prefixHitTokens: number;
  /** Highest referenced block id, -1 if none. */
  readonly maxUsedBlockId: number;
}

interface SeqState {
  blocks: number[];
  /** Chained hashes of this sequence's computed full blocks (only with prefix caching). */
  hashes: BlockHash[];
  numComputed: number;
}

/** What findCachedPrefix knew that the scheduler does not need to see. */
interface PrefixKey {
  readonly hashes: readonly BlockHash[];
  readonly numQueried: number;
}

const EMPTY_PREFIX: CachedPrefix = Object.freeze({ blocks: Object.freeze([]), numTokens: 0 });

function validate(config: KVCacheConfig): Readonly<KVCacheConfig> {
  for (const key of ['numBlocks', 'blockSize'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`KVCacheConfig.${key} must be an integer >= 1, got ${v}`);
  }
  if (typeof config.modelId !== 'string' || config.modelId === '') {
    throw new RangeError(`KVCacheConfig.modelId must be a non-empty string, got ${String(config.modelId)}`);
  }
  if (typeof config.enablePrefixCaching !== 'boolean') {
    throw new RangeError(
      `KVCacheConfig.enablePrefixCaching must be a boolean, got ${String(config.enablePrefixCaching)}`,
    );
  }
  return Object.freeze({ ...config });
}

/**
 * The scheduler's view of the paged KV cache: block tables per sequence, prefix hits, copy-on-write
 * for forked sequences. It never exposes the pool's free lists.
 */
export class KVCacheManager {
  readonly config: Readonly<KVCacheConfig>;
  #pool: BlockPool;
  readonly #seqs = new Map<string, SeqState>();
  readonly #prefixKeys = new WeakMap<CachedPrefix, PrefixKey>();
  // Monotonic counters; reset() keeps them.
  #queried = 0;
  #hits = 0;

  constructor(config: KVCacheConfig) {
    this.config = validate(config);
    this.#pool = new BlockPool(this.config.numBlocks, this.config.tileBlocks ?? 1);
  }

  numBlocksNeeded(numTokens: number): number {
    return Math.ceil(numTokens / this.config.blockSize);
  }

  canEverFit(numTokens: number): boolean {
    return this.numBlocksNeeded(numTokens) <= this.config.numBlocks;
  }

  /**
   * Longest run of cached full blocks at the head of `tokens`. At least one token is always left to
   * compute, since the forward step needs it to produce logits. Changes nothing. `adapterKey` names the
   * LoRA adapter the tokens run under ('' for the base model): blocks are shared only under the same one.
   */
  findCachedPrefix(tokens: readonly number[], adapterKey = ''): CachedPrefix {
    const { blockSize, enablePrefixCaching } = this.config;
    const modelId = this.#hashKey(adapterKey);
    const blocks: number[] = [];
    const hashes: BlockHash[] = [];
    const maxBlocks = enablePrefixCaching ? Math.max(0, Math.floor((tokens.length - 1) / blockSize)) : 0;
    let parent: BlockHash | null = null;
    for (let i = 0; i < maxBlocks; i++) {
      parent = hashBlock(parent, tokens.slice(i * blockSize, (i + 1) * blockSize), modelId);
      const block = this.#pool.lookup(parent);
      if (block === null) break;
      blocks.push(block);
      hashes.push(parent);
    }
    const prefix: CachedPrefix = Object.freeze({
      blocks: Object.freeze(blocks),
      numTokens: blocks.length * blockSize,
    });
    this.#prefixKeys.set(prefix, { hashes, numQueried: tokens.length });
    return prefix;
  }

  /**
   * Grows the sequence's table to cover `numTotalTokens` slots (creating the sequence on first call, with
   * `cachedPrefix` from findCachedPrefix at its head). Returns null and changes nothing if blocks are short.
   */
  allocateSlots(seqId: string, numTotalTokens: number, cachedPrefix?: CachedPrefix): AllocationResult | null {
    if (!Number.isInteger(numTotalTokens) || numTotalTokens < 0) {
      throw new RangeError(
        `allocateSlots(${seqId}): numTotalTokens must be an integer >= 0, got ${numTotalTokens}`,
      );
    }
    const existing = this.#seqs.get(seqId);
    const prefix = cachedPrefix ?? EMPTY_PREFIX;
    if (existing !== undefined && prefix.blocks.length > 0) {
      throw new Error(`allocateSlots(${seqId}): a cached prefix is only accepted on the first allocation`);
    }
    const key = existing === undefined ? this.#prefixKey(seqId, prefix) : undefined;
    if (prefix.numTokens > numTotalTokens) {
      throw new Error(
        `allocateSlots(${seqId}): prefix of ${prefix.numTokens} tokens exceeds ${numTotalTokens}`,
      );
    }

    const table = existing?.blocks ?? prefix.blocks;
    const numComputed = existing?.numComputed ?? prefix.numTokens;
    const numNew = Math.max(0, this.numBlocksNeeded(numTotalTokens) - table.length);
    const cowIndex = this.#cowIndex(table, numComputed, numTotalTokens);
    // Cached prefix blocks with ref 0 count as available, but this request is about to take them.
    let reused = 0;
    for (const b of prefix.blocks) if (this.#pool.refCount(b) === 0) reused++;
    if (numNew + (cowIndex >= 0 ? 1 : 0) > this.#pool.numAvailable() - reused) return null;

    let seq = existing;
    if (seq === undefined) {
      // Take the prefix first so that the allocations below cannot evict it.
      for (const b of prefix.blocks) this.#pool.ref(b);
      seq = { blocks: [...prefix.blocks], hashes: [...(key?.hashes ?? [])], numComputed };
      this.#seqs.set(seqId, seq);
      this.#queried += key?.numQueried ?? numTotalTokens;
      this.#hits += prefix.numTokens;
    }
    const copies: BlockCopy[] = [];
    if (cowIndex >= 0) {
      const src = seq.blocks[cowIndex]!;
      const dst = this.#mustAllocate();
      seq.blocks[cowIndex] = dst;
      this.#pool.unref(src);
      copies.push({ src, dst });
    }
    const newBlocks: number[] = [];
    const tile = this.#pool.tileBlocks;
    for (let i = 0; i < numNew; i++) {
      // Continue in the tile of the sequence's last block, so its tiles stay its own.
      const last = newBlocks.at(-1) ?? seq.blocks.at(-1);
      const next = last !== undefined && (last + 1) % tile !== 0 ? last + 1 : undefined;
      newBlocks.push(this.#mustAllocate(next));
    }
    seq.blocks.push(...newBlocks);
    return { newBlocks, copies };
  }

  /** The child shares the parent's computed blocks (copy-on-write), e.g. for n > 1 samples of one prompt. */
  fork(parentSeqId: string, childSeqId: string): void {
    const parent = this.#get(parentSeqId, 'fork');
    if (this.#seqs.has(childSeqId)) throw new Error(`fork: sequence ${childSeqId} already exists`);
    // Slots allocated but not yet computed are not shared: both sequences would write them.
    const shared = parent.blocks.slice(0, this.numBlocksNeeded(parent.numComputed));
    for (const b of shared) this.#pool.ref(b);
    this.#seqs.set(childSeqId, {
      blocks: shared,
      hashes: [...parent.hashes],
      numComputed: parent.numComputed,
    });
  }

  /**
   * Records that KV is now written for tokens[0, numComputedTokens) and registers every newly full block
   * in the prefix cache. `tokens` must hold at least numComputedTokens tokens of this sequence.
   */
  commitComputed(seqId: string, tokens: readonly number[], numComputedTokens: number, adapterKey = ''): void {
    const seq = this.#get(seqId, 'commitComputed');
    const { blockSize } = this.config;
    const modelId = this.#hashKey(adapterKey);
    if (
      !Number.isInteger(numComputedTokens) ||
      numComputedTokens < seq.numComputed ||
      numComputedTokens > seq.blocks.length * blockSize ||
      numComputedTokens > tokens.length
    ) {
      throw new RangeError(
        `commitComputed(${seqId}): ${numComputedTokens} computed tokens is outside ` +
          `[${seq.numComputed}, min(${seq.blocks.length * blockSize} slots, ${tokens.length} tokens)]`,
      );
    }
    const writing = Math.floor(seq.numComputed / blockSize);
    if (
      numComputedTokens > seq.numComputed &&
      this.#cowIndex(seq.blocks, seq.numComputed, numComputedTokens) >= 0
    ) {
      // The KV was written into a block another sequence still reads: a fork came after allocateSlots.
      throw new Error(
        `commitComputed(${seqId}): block ${seq.blocks[writing]} is shared; call allocateSlots after fork, before writing`,
      );
    }
    seq.numComputed = numComputedTokens;
    if (!this.config.enablePrefixCaching) return;
    const numFull = Math.floor(numComputedTokens / blockSize);
    for (let i = seq.hashes.length; i < numFull; i++) {
      const parent = i === 0 ? null : seq.hashes[i - 1]!;
      const hash = hashBlock(parent, tokens.slice(i * blockSize, (i + 1) * blockSize), modelId);
      seq.hashes.push(hash);
      // False means another block already caches these tokens; this one stays a plain block.
      this.#pool.setHash(seq.blocks[i]!, hash);
    }
  }

  /** The model id the block hashes are keyed by: with an adapter, the model's id and the adapter's key. */
  #hashKey(adapterKey: string): string {
    return adapterKey === '' ? this.config.modelId : `${this.config.modelId}\u0000lora:${adapterKey}`;
  }

  /** Releases the sequence's blocks, tail first so that the LRU evicts a chain's tail before its head. */
  free(seqId: string): boolean {
    const seq = this.#seqs.get(seqId);
    if (seq === undefined) return false;
    for (let i = seq.blocks.length - 1; i >= 0; i--) this.#pool.unref(seq.blocks[i]!);
    this.#seqs.delete(seqId);
    return true;
  }

  has(seqId: string): boolean {
    return this.#seqs.has(seqId);
  }

  /** Sequences holding a block table (for the engine's invariant check: each must be a live sequence). */
  numSequences(): number {
    return this.#seqs.size;
  }

  blockTable(seqId: string): readonly number[] {
    return this.#get(seqId, 'blockTable').blocks;
  }

  numComputedTokens(seqId: string): number {
    return this.#get(seqId, 'numComputedTokens').numComputed;
  }

  stats(): KVCacheStats {
    const { numBlocks, blockSize } = this.config;
    const freeBlocks = this.#pool.numAvailable();
    return {
      numBlocks,
      blockSize,
      freeBlocks,
      cachedBlocks: this.#pool.numCachedEvictable(),
      usedBlocks: numBlocks - freeBlocks,
      usage: (numBlocks - freeBlocks) / numBlocks,
      prefixQueriedTokens: this.#queried,
      prefixHitTokens: this.#hits,
      maxUsedBlockId: this.#pool.maxUsedBlockId(),
    };
  }

  /** Frees every sequence and forgets the whole prefix cache (e.g. after a model reload). */
  reset(): void {
    this.#seqs.clear();
    this.#pool = new BlockPool(this.config.numBlocks, this.config.tileBlocks ?? 1);
  }

  /** Throws if refcounts, free lists, hashes or table lengths disagree. For tests and debug builds. */
  checkInvariants(): void {
    const { blockSize, enablePrefixCaching } = this.config;
    const expected = new Map<number, number>();
    for (const [id, seq] of this.#seqs) {
      if (seq.blocks.length < this.numBlocksNeeded(seq.numComputed)) {
        throw new Error(
          `KVCacheManager invariant: ${id} has ${seq.blocks.length} blocks for ${seq.numComputed} tokens`,
        );
      }
      const wantHashes = enablePrefixCaching ? Math.floor(seq.numComputed / blockSize) : 0;
      if (seq.hashes.length !== wantHashes) {
        throw new Error(
          `KVCacheManager invariant: ${id} has ${seq.hashes.length} hashes, expected ${wantHashes}`,
        );
      }
      seq.hashes.forEach((hash, i) => {
        const own = this.#pool.hashOf(seq.blocks[i]!);
        if (own !== null && own !== hash) {
          throw new Error(
            `KVCacheManager invariant: ${id} block ${seq.blocks[i]} is cached under another hash`,
          );
        }
      });
      for (const b of seq.blocks) expected.set(b, (expected.get(b) ?? 0) + 1);
    }
    this.#pool.checkInvariants(expected);
  }

  /** Index of the block that must be copied before writing, or -1: the partial block about to be written, if shared. */
  #cowIndex(table: readonly number[], numComputed: number, numTotalTokens: number): number {
    const i = Math.floor(numComputed / this.config.blockSize);
    if (numComputed % this.config.blockSize === 0 || numTotalTokens <= numComputed || i >= table.length)
      return -1;
    return this.#pool.refCount(table[i]!) > 1 ? i : -1;
  }

  #prefixKey(seqId: string, prefix: CachedPrefix): PrefixKey | undefined {
    const key = this.#prefixKeys.get(prefix);
    if (prefix.blocks.length === 0) return key;
    if (key === undefined)
      throw new Error(`allocateSlots(${seqId}): cachedPrefix must come from findCachedPrefix`);
    // Anything allocated since findCachedPrefix may have evicted these blocks.
    prefix.blocks.forEach((b, i) => {
      if (this.#pool.lookup(key.hashes[i]!) !== b) {
        throw new Error(
          `allocateSlots(${seqId}): stale cachedPrefix, block ${b} was evicted since findCachedPrefix`,
        );
      }
    });
    return key;
  }

  #mustAllocate(preferred?: number): number {
    const b = this.#pool.allocate(preferred);
    if (b === null) throw new Error('KVCacheManager: pool ran dry after the availability check');
    return b;
  }

  #get(seqId: string, op: string): SeqState {
    const seq = this.#seqs.get(seqId);
    if (seq === undefined) throw new Error(`${op}: unknown sequence ${seqId}`);
    return seq;
  }
}
