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
 *
 * Blocks are grouped in tiles of `tileBlocks` consecutive ids: the runtime computes attention a tile at
 * a time, reading a tile in place when one sequence owns it. So a sequence that grows takes the next
 * block of its own tile when it can, and a sequence that needs a new tile takes a wholly free one.
 * With tileBlocks 1 this is plain lowest-id-first allocation.
 */
export class BlockPool {
  readonly numBlocks: number;
  readonly tileBlocks: number;
  readonly #refs: Int32Array;
  readonly #hashes: (BlockHash | null)[];
  readonly #byHash = new Map<BlockHash, number>();
  // The heaps delete lazily: an id taken out of turn stays in its heap, marked here, and is skipped.
  readonly #plain: MinHeap;
  readonly #isPlain: Uint8Array;
  #numPlain: number;
  readonly #tileFree: Int32Array;
  readonly #freeTiles: MinHeap;
  // Ref-0 blocks per tile, plain or cached: a tile of only those can be taken whole by evicting.
  readonly #tileUnref: Int32Array;
  readonly #unrefTiles: MinHeap;
  // Set iteration order is insertion order: the first entry is the least recently freed.
  readonly #lru = new Set<number>();

  constructor(numBlocks: number, tileBlocks = 1) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) {
      throw new RangeError(`BlockPool: numBlocks must be a positive integer, got ${numBlocks}`);
    }
    if (!Number.isInteger(tileBlocks) || tileBlocks < 1) {
      throw new RangeError(`BlockPool: tileBlocks must be a positive integer, got ${tileBlocks}`);
    }
    this.numBlocks = numBlocks;
    this.tileBlocks = tileBlocks;
    this.#refs = new Int32Array(numBlocks);
    this.#hashes = new Array<BlockHash | null>(numBlocks).fill(null);
    this.#plain = new MinHeap(Array.from({ length: numBlocks }, (_, i) => i));
    this.#isPlain = new Uint8Array(numBlocks).fill(1);
    this.#numPlain = numBlocks;
    const tiles = Math.ceil(numBlocks / tileBlocks);
    this.#tileFree = new Int32Array(tiles);
    for (let b = 0; b < numBlocks; b++) this.#tileFree[Math.floor(b / tileBlocks)]!++;
    const whole = Array.from({ length: tiles }, (_, t) => t).filter((t) => this.#tileFree[t] === tileBlocks);
    this.#freeTiles = new MinHeap(whole);
    this.#tileUnref = Int32Array.from(this.#tileFree);
    this.#unrefTiles = new MinHeap([...whole]);
  }

  /**
   * A block with ref 1. In order: `preferred` if plain free; the first block of the lowest wholly plain
   * free tile; `preferred` if cached and unreferenced (evicted); the first block of a tile with no
   * referenced block (evicting); the lowest plain free id; the least recently freed cached block.
   * Keeping tiles whole costs some cache hits when tiles are larger than one block: a sequence would
   * rather evict a cached tile than scatter into other sequences' tiles, which it then could only read
   * through a gather. With tileBlocks 1 the order is plain free (lowest id), then LRU eviction.
   */
  allocate(preferred?: number): number | null {
    const tiled = this.tileBlocks > 1;
    const wanted = preferred !== undefined && preferred < this.numBlocks ? preferred : undefined;
    let block: number | undefined;
    if (wanted !== undefined && this.#isPlain[wanted]) block = wanted;
    if (tiled) {
      block ??= this.#takeTile(this.#freeTiles, this.#tileFree);
      if (block === undefined && wanted !== undefined && this.#refs[wanted] === 0) block = wanted;
      block ??= this.#takeTile(this.#unrefTiles, this.#tileUnref);
    }
    block ??= this.#popPlain();
    block ??= this.#lru.values().next().value;
    if (block === undefined) return null;
    if (this.#isPlain[block]) this.#leavePlain(block);
    else this.#evict(block);
    this.#tileUnref[Math.floor(block / this.tileBlocks)]!--;
    this.#refs[block] = 1;
    return block;
  }

  numAvailable(): number {
    return this.#numPlain + this.#lru.size;
  }

  numFreePlain(): number {
    return this.#numPlain;
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
      this.#tileUnref[Math.floor(block / this.tileBlocks)]!--;
    }
    this.#refs[block]!++;
  }

  unref(block: number): void {
    this.#check(block);
    if (this.#refs[block]! <= 0) throw new Error(`BlockPool.unref: block ${block} has no references`);
    if (--this.#refs[block]! > 0) return;
    const t = Math.floor(block / this.tileBlocks);
    if (++this.#tileUnref[t]! === this.tileBlocks && this.tileBlocks > 1) this.#unrefTiles.push(t);
    if (this.#hashes[block] !== null) this.#lru.add(block);
    else this.#enterPlain(block);
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
    const inHeap = new Uint8Array(this.numBlocks);
    const heap = this.#plain.items;
    for (let i = 0; i < heap.length; i++) {
      inHeap[heap[i]!] = 1;
      if (i > 0 && heap[(i - 1) >> 1]! > heap[i]!) fail(`heap order broken at index ${i}`);
    }
    const inPlain = this.#isPlain;
    let plain = 0;
    const tileFree = new Int32Array(this.#tileFree.length);
    for (let b = 0; b < this.numBlocks; b++) {
      if (!inPlain[b]) continue;
      plain++;
      tileFree[Math.floor(b / this.tileBlocks)]!++;
      if (!inHeap[b]) fail(`plain free block ${b} is missing from the heap`);
    }
    if (plain !== this.#numPlain) fail(`plain free count ${this.#numPlain}, counted ${plain}`);
    const tileUnref = new Int32Array(this.#tileUnref.length);
    for (let b = 0; b < this.numBlocks; b++)
      if (this.#refs[b] === 0) tileUnref[Math.floor(b / this.tileBlocks)]!++;
    tileUnref.forEach((n, t) => {
      if (n !== this.#tileUnref[t])
        fail(`tile ${t} has ${this.#tileUnref[t]} unreferenced blocks recorded, ${n} counted`);
    });
    tileFree.forEach((n, t) => {
      if (n !== this.#tileFree[t])
        fail(`tile ${t} has ${this.#tileFree[t]} free blocks recorded, ${n} counted`);
    });
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

  #popPlain(): number | undefined {
    for (;;) {
      const b = this.#plain.pop();
      if (b === undefined || this.#isPlain[b]) return b;
    }
  }

  /** First block of the lowest tile whose `counts` entry is full (lazy heap: stale entries skipped). */
  #takeTile(heap: MinHeap, counts: Int32Array): number | undefined {
    for (;;) {
      const t = heap.pop();
      if (t === undefined) return undefined;
      if (counts[t] === this.tileBlocks) return t * this.tileBlocks;
    }
  }

  #leavePlain(block: number): void {
    this.#isPlain[block] = 0;
    this.#numPlain--;
    this.#tileFree[Math.floor(block / this.tileBlocks)]!--;
  }

  #enterPlain(block: number): void {
    this.#isPlain[block] = 1;
    this.#numPlain++;
    this.#plain.push(block);
    const t = Math.floor(block / this.tileBlocks);
    if (++this.#tileFree[t]! === this.tileBlocks && this.tileBlocks > 1) this.#freeTiles.push(t);
  }

  /** Drops a cached, unreferenced block's hash so the block can be handed out. */
  #evict(block: number): void {
    if (!this.#lru.delete(block)) throw new Error(`BlockPool: block ${block} is neither free nor cached`);
    this.#byHash.delete(this.#hashes[block]!);
    this.#hashes[block] = null;
  }

  #check(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.numBlocks) {
      throw new RangeError(`BlockPool: no block ${block} (pool has ${this.numBlocks})`);
    }
  }
}
