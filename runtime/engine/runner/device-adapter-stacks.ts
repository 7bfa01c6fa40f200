import ort from 'onnxruntime-node';
import type { SlotStacks } from '../../adapters/index.ts';
import {
  type DeviceLoraStack,
  loraStackIndex,
  loraStackOut,
  loraStackRows,
} from '../../model/graph/index.ts';
import type { LoraStackSessions } from '../../model/index.ts';
import { deviceStackArray, deviceStackRows } from './device-stack-rows.ts';

/**
 * The adapter slot stacks as the device step reads them (graph/lora-slot-mask.ts's layout): held on the
 * device as the KV pool is (device-kv-pool.ts), made zeroed there and, when slots were written since the
 * last step, those slots' rows sent up and scattered in (graph/lora-stacks.ts), so a step uploads nothing
 * of the stacks and a slot write uploads that adapter only. The host arrays (SlotStacks) stay the source:
 * they are what a slot write changes, and what the step is fed instead (in this layout) when the device
 * cannot hold the stacks (the sessions did not open, or a run of them failed); then every step uploads
 * them whole.
 */
export class DeviceAdapterStacks {
  readonly #stacks: SlotStacks;
  readonly #layout: readonly DeviceLoraStack[];
  readonly #sessions: LoraStackSessions | undefined;
  #held: Record<string, ort.Tensor> | null = null;
  /** Each slot's write count when the held stacks last took it. */
  readonly #seen: Uint32Array;
  #seenTotal = 0;
  #host: Record<string, ort.Tensor> | null = null;
  #hostTotal = -1;
  #fallback: string | undefined;

  constructor(
    stacks: SlotStacks,
    layout: readonly DeviceLoraStack[],
    sessions: LoraStackSessions | undefined,
    unavailable?: string,
  ) {
    this.#stacks = stacks;
    this.#layout = layout;
    this.#sessions = sessions;
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
    // Laid out again only after a slot write.
    if (this.#hostTotal !== this.#stacks.totalWrites) {
      this.#host = Object.fromEntries(
        this.#layout.map((s) => [
          s.name,
          new ort.Tensor('float32', deviceStackArray(this.#stacks, s), [...s.shape]),
        ]),
      );
      this.#hostTotal = this.#stacks.totalWrites;
    }
    Object.assign(feeds, this.#host);
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
      this.#held = Object.fromEntries(this.#layout.map((s) => [s.name, out[s.name]!]));
    }
    if (this.#stacks.totalWrites !== this.#seenTotal) await this.#write();
    return this.#held;
  }

  /** Scatters the rows of every slot written since the held stacks last took it (every stack). */
  async #write(): Promise<void> {
    const st = this.#stacks;
    const slots: number[] = [];
    for (let s = 1; s < st.slots; s++) if (st.writesOf(s) !== this.#seen[s]) slots.push(s);
    const feeds: Record<string, ort.Tensor> = {};
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const stack of this.#layout) {
      const { index, rows } = deviceStackRows(st, stack, slots);
      feeds[stack.name] = this.#held![stack.name]!;
      feeds[loraStackIndex(stack.name)] = new ort.Tensor('int64', index, [index.length]);
      feeds[loraStackRows(stack.name)] = new ort.Tensor('float32', rows, [index.length, stack.shape[1]]);
      fetches[loraStackOut(stack.name)] = null;
    }
    const seen = slots.map((s) => st.writesOf(s));
    const total = st.totalWrites;
    const out = await this.#sessions!.write.run(feeds, fetches);
    for (const { name } of this.#layout) {
      const next = out[loraStackOut(name)];
      if (!next) throw new Error(`the adapter stack write returned no ${loraStackOut(name)}`);
      this.#held![name]!.dispose();
      this.#held![name] = next;
    }
    slots.forEach((s, i) => (this.#seen[s] = seen[i]!));
    this.#seenTotal = total;
  }
}
