import type { ResolvedArchitecture } from '../model/architecture.ts';
import type { LoraGraphSpec } from '../model/graph/index.ts';
import type { LoraAdapter } from './peft-adapter.ts';
import { SlotStacks } from './slot-stacks.ts';
import { SlotTable } from './slot-table.ts';

export interface AdapterMemoryStats {
  /** Adapter slots, slot 0 (the base model) excluded. */
  readonly slots: number;
  readonly registered: number;
  /** Adapters whose weights are in a slot now. */
  readonly loaded: number;
  /** Slot writes and evictions since start. */
  readonly loads: number;
  readonly evictions: number;
  readonly bytes: number;
}

/**
 * An instance's adapters: the registered ones in host memory (checked at load by peft-adapter.ts) and
 * the fixed slots the step graph reads (SlotTable says who holds which, SlotStacks holds the weights).
 * A slot is written when a sequence under an adapter not in a slot is admitted, between steps.
 */
export class AdapterMemory {
  readonly spec: LoraGraphSpec;
  readonly stacks: SlotStacks;
  readonly #table: SlotTable;
  readonly #registered = new Map<string, LoraAdapter>();
  #loads = 0;
  #evictions = 0;

  constructor(arch: ResolvedArchitecture, spec: LoraGraphSpec) {
    this.spec = spec;
    this.stacks = new SlotStacks(arch, spec);
    this.#table = new SlotTable(spec.slots);
  }

  /** Registers an adapter under `id`; false when `id` is registered already (unregister it first). */
  register(id: string, adapter: LoraAdapter): boolean {
    if (this.#registered.has(id)) return false;
    this.#registered.set(id, adapter);
    return true;
  }

  /** Forgets an adapter and frees its slot; false while a sequence holds its slot. */
  unregister(id: string): boolean {
    if (!this.#registered.has(id)) return true;
    if (!this.#table.drop(id)) return false;
    this.#registered.delete(id);
    return true;
  }

  has(id: string): boolean {
    return this.#registered.has(id);
  }

  /** The prefix-cache key of requests under `id`: its id and its weights' digest. */
  cacheKey(id: string): string {
    const a = this.#registered.get(id);
    if (!a) throw new Error(`AdapterMemory.cacheKey: ${id} is not registered`);
    return `${id}@${a.digest}`;
  }

  /**
   * The slot of a registered adapter with one more reference, its weights written there if they were
   * not; null when every slot is held by running sequences (the caller waits).
   */
  acquire(id: string): number | null {
    const adapter = this.#registered.get(id);
    if (!adapter) throw new Error(`AdapterMemory.acquire: ${id} is not registered`);
    const grant = this.#table.acquire(id);
    if (grant === null) return null;
    if (grant.load) {
      this.stacks.write(grant.slot, adapter);
      this.#loads++;
    }
    if (grant.evicted !== undefined) this.#evictions++;
    return grant.slot;
  }

  release(id: string): void {
    this.#table.release(id);
  }

  /** The slot holding `id` now, if any. */
  slotOf(id: string): number | undefined {
    return this.#table.slotOf(id);
  }

  stats(): AdapterMemoryStats {
    return {
      slots: this.spec.slots - 1,
      registered: this.#registered.size,
      loaded: this.#table.loaded().length,
      loads: this.#loads,
      evictions: this.#evictions,
      bytes: this.stacks.bytes,
    };
  }
}
