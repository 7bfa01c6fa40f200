import ort from 'onnxruntime-node';
import type { SlotStacks } from '../../adapters/index.ts';
import {
  LORA_WRITE_PACK,
  LORA_WRITE_PACK_SIZES,
  LORA_WRITE_ROWS,
  loraStackOut,
  type DeviceLoraStacks,
} from '../../model/graph/index.ts';
import type { LoraStackSessions } from '../../model/index.ts';
import { packFloat32 } from './float-pack.ts';
import { groupedStackRows } from './grouped-stack-rows.ts';

/**
 * The adapter slot stacks as the device step reads them (graph/lora-grouped.ts): held on the device as
 * the KV pool is (device-kv-pool.ts), made zeroed there and, when slots were written since the last step, those slots'
 * rows sent up and scattered in (graph/lora-stacks.ts), so a step uploads nothing of the stacks and a
 * slot write uploads that adapter only. The host arrays (SlotStacks) stay the source: they are what a
 * slot write changes, and what the step is fed instead when the device cannot hold the stacks (the
 * sessions did not open, or a run of them failed); then every step uploads them whole.
 */
export class DeviceAdapterStacks {
  readonly #stacks: SlotStacks;
  readonly #layout: readonly DeviceLoraStacks[];
  readonly #sessions: LoraStackSessions | undefined;
  readonly #names: readonly string[];
  #held: Record<string, ort.Tensor> | null = null;
  /** Each slot's write count when the held stacks last took it. */
  readonly #seen: Uint32Array;
  #seenTotal = 0;
  #host: Record<string, ort.Tensor> | null = null;
  #hostWrites = -1;
  #fallback: string | undefined;

  /** `layout`: the device step's stacks (graph/lora-grouped.ts), made from `stacks`. */
  constructor(
    stacks: SlotStacks,
    layout: readonly DeviceLoraStacks[],
    sessions: LoraStackSessions | undefined,
    unavailable?: string,
  ) {
    this.#stacks = stacks;
    this.#layout = layout;
    this.#sessions = sessions;
    this.#names = layout.flatMap((g) => [g.a.name, g.b.name]);
    this.#seen = new Uint32Array(stacks.slots);
    if (!sessions) this.#fallback = unavailable ?? 'the adapter stack sessions were not opened';
  }

  /** Where the step's stacks come from: held on the device, or the host arrays fed every step. */
  get location(): 'device' | 'host' {
    return this.#fallback === undefined ? 'device' : 'host';
  }

  /** Why the stacks are fed from the host, when they are. */
  get fallback(): string | undefined {
    return this.#fallback;
  }

  /** The stacks as the step's inputs, the slots written since the last step brought up first. */
  async bind(feeds: Record<string, ort.Tensor>): Promise<void> {
    if (this.#fallback === undefined) {
      try {
        Object.assign(feeds, await this.#current());
        return;
      } catch (e) {
        this.#fallback = `holding the adapter stacks on the device failed: ${(e as Error).message}`;
        this.dispose();
      }
    }
    if (this.#hostWrites !== this.#stacks.totalWrites) {
      this.#host = this.#hostLayout();
      this.#hostWrites = this.#stacks.totalWrites;
    }
    Object.assign(feeds, this.#host!);
  }

  /** Frees the device buffers; they are made again (every slot copied) if used after. */
  dispose(): void {
    for (const t of Object.values(this.#held ?? {})) t.dispose();
    this.#held = null;
    this.#seen.fill(0);
    this.#seenTotal = 0;
  }

  async #current(): Promise<Record<string, ort.Tensor>> {
    if (!this.#held) {
      const out = await this.#sessions!.init.run({});
      this.#held = Object.fromEntries(this.#names.map((n) => [n, out[n]!]));
    }
    if (this.#stacks.totalWrites !== this.#seenTotal) await this.#write();
    return this.#held;
  }

  /**
   * The stacks as the step reads them, from the host arrays: a group of one is its host arrays themselves
   * (rewritten in place by slot writes); a larger group is laid out again (after each write).
   */
  #hostLayout(): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    const every = Array.from({ length: this.#stacks.layers * this.#stacks.slots }, (_, i) => i);
    for (const g of this.#layout) {
      const one = g.targets.length === 1 && this.#stacks.stacks.find((s) => s.target === g.targets[0]);
      const { a, b } = one || groupedStackRows(this.#stacks, g, every);
      feeds[g.a.name] = new ort.Tensor('float32', a, [...g.a.shape]);
      feeds[g.b.name] = new ort.Tensor('float32', b, [...g.b.shape]);
    }
    return feeds;
  }

  /** Scatters the rows of every slot written since the held stacks last took it (all layers, all stacks). */
  async #write(): Promise<void> {
    const st = this.#stacks;
    const slots: number[] = [];
    for (let s = 1; s < st.slots; s++) if (st.writesOf(s) !== this.#seen[s]) slots.push(s);
    const L = st.layers;
    const K = slots.length * L;
    const rows = new BigInt64Array(K);
    slots.forEach((s, i) => {
      for (let l = 0; l < L; l++) rows[i * L + l] = BigInt(l * st.slots + s);
    });
    // Every stack's rows in one tensor, in the write graph's order (each group's A, then its B).
    const rowNumbers = Array.from(rows, Number);
    const { packed, sizes } = packFloat32(
      this.#layout.flatMap((g) => {
        const { a, b } = groupedStackRows(st, g, rowNumbers);
        return [a, b];
      }),
    );
    const feeds: Record<string, ort.Tensor> = {
      [LORA_WRITE_ROWS]: new ort.Tensor('int64', rows, [K]),
      [LORA_WRITE_PACK]: new ort.Tensor('float32', packed, [packed.length]),
      [LORA_WRITE_PACK_SIZES]: new ort.Tensor('int64', sizes, [sizes.length]),
    };
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const n of this.#names) {
      feeds[n] = this.#held![n]!;
      fetches[loraStackOut(n)] = null;
    }
    const seen = slots.map((s) => st.writesOf(s));
    const total = st.totalWrites;
    const out = await this.#sessions!.write.run(feeds, fetches);
    for (const n of this.#names) {
      const next = out[loraStackOut(n)];
      if (!next) throw new Error(`the adapter stack write returned no ${loraStackOut(n)}`);
      this.#held![n]!.dispose();
      this.#held![n] = next;
    }
    slots.forEach((s, i) => (this.#seen[s] = seen[i]!));
    this.#seenTotal = total;
  }
}
