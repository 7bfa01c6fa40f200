import type { BlockHash } from './block-hash.ts';

/** Binary min-heap of block ids: the plain free blocks, lowest id first. */
class MinHeap {
  readonly items: number[];

  /** `sorted` must be ascending, which is already a valid heap. */
  constructor(sorted: number[]) {
    this.items = sorted;
  }

  get size(): number {
    return this.items.length;
  }

  push(x: number): void {
    const a = this.items;
    let i = a.push(x) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }

  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

/**
 * Owns every block's refcount and hash. A block with ref 0 is either plain free (never hashed,
 * in the min-heap) or cached (hashed, in the LRU, still findable by hash until evicted).
 */
export class BlockPool {
  readonly numBlocks: number;
  readonly #refs: Int32Array;
  readonly #hashes: (BlockHash | null)[];
  readonly #byHash = new Map<BlockHash, number>();
  readonly #plain: MinHeap;
  // Set iteration order is insertion order: the first entry is the least recently freed.
  readonly #lru = new Set<number>();

  constructor(numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) {
      throw new RangeError(`BlockPool: numBlocks must be a positive integer, got ${numBlocks}`);
    }
    this.numBlocks = numBlocks;
    this.#refs = new Int32Array(numBlocks);
    this.#hashes = new Array<BlockHash | null>(numBlocks).fill(null);
    this.#plain = new MinHeap(Array.from({ length: numBlocks }, (_, i) => i));
  }

  /** A block with ref 1: the lowest plain free id, else the least recently freed cached block. */
  allocate(): number | null {
    let block = this.#plain.pop();
    if (block === undefined) {
      block = this.#evictOldest();
      if (block === undefined) return null;
    }
    this.#refs[block] = 1;
    return block;
  }

  numAvailable(): number {
    return this.#plain.size + this.#lru.size;
  }

  numFreePlain(): number {
    return this.#plain.size;
  }

  numCachedEvictable(): number {
    return this.#lru.size;
  }

  /** Takes another reference; a cached ref-0 block leaves the LRU (a prefix hit). */
  ref(block: number): void {
    this.#check(block);
    if (this.#refs[block] === 0) {
      if (!this.#lru.delete(block))
        throw new Error(`BlockPool.ref: block ${block} is plain free, not cached`);
    }
    this.#refs[block]!++;
  }

  unref(block: number): void {
    this.#check(block);
    if (this.#refs[block]! <= 0) throw new Error(`BlockPool.unref: block ${block} has no references`);
    if (--this.#refs[block]! > 0) return;
    if (this.#hashes[block] !== null) this.#lru.add(block);
    else this.#plain.push(block);
  }

  lookup(hash: BlockHash): number | null {
    return this.#byHash.get(hash) ?? null;
  }

  /**
   * Registers a full, computed, referenced block under its hash. Returns false if another block already
   * holds that hash: the first copy stays the cached one and this block stays unhashed.
   */
  setHash(block: number, hash: BlockHash): boolean {
    this.#check(block);
    if (this.#refs[block]! <= 0) throw new Error(`BlockPool.setHash: block ${block} is not referenced`);
    const current = this.#hashes[block];
    if (current === hash) return true;
    if (current !== null) throw new Error(`BlockPool.setHash: block ${block} already has hash ${current}`);
    if (this.#byHash.has(hash)) return false;
    this.#hashes[block] = hash;
    this.#byHash.set(hash, block);
    return true;
  }

  refCount(block: number): number {
    this.#check(block);
    return this.#refs[block]!;
  }

  hashOf(block: number): BlockHash | null {
    this.#check(block);
    return this.#hashes[block]!;
  }

  /** Highest referenced block id, -1 if none; the runtime treats [0, maxUsedBlockId] as the live range. */
  maxUsedBlockId(): number {
    for (let b = this.numBlocks - 1; b >= 0; b--) if (this.#refs[b]! > 0) return b;
    return -1;
  }

  /** Throws if refcounts differ from `expectedRefs` (block -> count, absent = 0) or the free lists or hash map are inconsistent. */
  checkInvariants(expectedRefs: ReadonlyMap<number, number>): void {
    const fail = (msg: string): never => {
      throw new Error(`BlockPool invariant: ${msg}`);
    };
    for (const b of expectedRefs.keys()) {
      if (!Number.isInteger(b) || b < 0 || b >= this.numBlocks) fail(`expected refs name unknown block ${b}`);
    }
    const inPlain = new Uint8Array(this.numBlocks);
    const heap = this.#plain.items;
    for (let i = 0; i < heap.length; i++) {
      const b = heap[i]!;
      if (inPlain[b]) fail(`block ${b} is in the plain free heap twice`);
      inPlain[b] = 1;
      if (i > 0 && heap[(i - 1) >> 1]! > b) fail(`heap order broken at index ${i}`);
    }
    for (let b = 0; b < this.numBlocks; b++) {
      const ref = this.#refs[b]!;
      const want = expectedRefs.get(b) ?? 0;
      if (ref !== want) fail(`block ${b} has refcount ${ref}, expected ${want}`);
      const cached = this.#lru.has(b);
      const hash = this.#hashes[b]!;
      if (ref > 0 && (inPlain[b] || cached)) fail(`block ${b} has ref ${ref} but is on a free list`);
      if (ref === 0 && (inPlain[b] === 1) === cached) {
        fail(`free block ${b} is in ${cached ? 'both free lists' : 'neither free list'}`);
      }
      if (inPlain[b] && hash !== null) fail(`plain free block ${b} has hash ${hash}`);
      if (cached && hash === null) fail(`cached block ${b} has no hash`);
      if (hash !== null && this.#byHash.get(hash) !== b)
        fail(`block ${b} hash ${hash} not mapped back to it`);
    }
    for (const [hash, b] of this.#byHash) {
      if (this.#hashes[b] !== hash)
        fail(`hash ${hash} maps to block ${b}, which has hash ${this.#hashes[b]}`);
    }
  }

  #evictOldest(): number | undefined {
    const first = this.#lru.values().next();
    if (first.done) return undefined;
    const block = first.value;
    this.#lru.delete(block);
    this.#byHash.delete(this.#hashes[block]!);
    this.#hashes[block] = null;
    return block;
  }

  #check(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.numBlocks) {
      throw new RangeError(`BlockPool: no block ${block} (pool has ${this.numBlocks})`);
    }
  }
}
