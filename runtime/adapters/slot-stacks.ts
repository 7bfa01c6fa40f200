import type { ResolvedArchitecture } from '../model/architecture.ts';
import { type LoraGraphSpec, type LoraTarget, loraTargetDims } from '../model/graph/index.ts';
import type { LoraAdapter } from './peft-adapter.ts';

/** One target's stacks as the graph reads them (graph/lora.ts): A [L*S, in, R], B [L*S, R, out]. */
export interface TargetStacks {
  readonly target: LoraTarget;
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly aDims: readonly [number, number, number];
  readonly bDims: readonly [number, number, number];
}

/**
 * The adapter slots' weights: host arrays the step graph reads as inputs (on the CPU, without a copy).
 * Slot s of layer l is row l*S + s; slot 0 stays zeros. A slot is written between steps only, so a step
 * never sees half an adapter. Each slot counts its writes, so a copy held elsewhere (the device's,
 * engine/runner/device-adapter-stacks.ts) can tell which slots to copy again.
 */
export class SlotStacks {
  readonly stacks: readonly TargetStacks[];
  readonly #spec: LoraGraphSpec;
  readonly #layers: number;
  readonly #writes: Uint32Array;
  #totalWrites = 0;

  constructor(arch: ResolvedArchitecture, spec: LoraGraphSpec) {
    this.#spec = spec;
    this.#layers = arch.n_layer;
    this.#writes = new Uint32Array(spec.slots);
    const LS = arch.n_layer * spec.slots;
    const R = spec.maxRank;
    this.stacks = spec.targets.map((target) => {
      const d = loraTargetDims(arch, target);
      return {
        target,
        a: new Float32Array(LS * d.in * R),
        b: new Float32Array(LS * R * d.out),
        aDims: [LS, d.in, R] as const,
        bDims: [LS, R, d.out] as const,
      };
    });
  }

  /** The rank every slot is padded to. */
  get maxRank(): number {
    return this.#spec.maxRank;
  }

  get bytes(): number {
    return this.stacks.reduce((n, s) => n + (s.a.length + s.b.length) * 4, 0);
  }

  get slots(): number {
    return this.#spec.slots;
  }

  get layers(): number {
    return this.#layers;
  }

  /** Writes so far, all slots together: unchanged means no slot changed. */
  get totalWrites(): number {
    return this.#totalWrites;
  }

  /** Writes so far into `slot`. */
  writesOf(slot: number): number {
    return this.#writes[slot]!;
  }

  /** Writes the adapter into `slot`: A transposed to [in, r], B to [r, out], zero-padded to maxRank; zeros for targets it lacks. */
  write(slot: number, adapter: LoraAdapter): void {
    this.#writes[slot]!++;
    this.#totalWrites++;
    const R = this.#spec.maxRank;
    const r = adapter.rank;
    for (const s of this.stacks) {
      const [, IN] = s.aDims;
      const OUT = s.bDims[2];
      for (let l = 0; l < this.#layers; l++) {
        const row = l * this.#spec.slots + slot;
        const a = s.a.subarray(row * IN * R, (row + 1) * IN * R);
        const b = s.b.subarray(row * R * OUT, (row + 1) * R * OUT);
        a.fill(0);
        b.fill(0);
        const pair = adapter.layers[l]?.get(s.target);
        if (!pair) continue;
        for (let j = 0; j < r; j++) {
          for (let i = 0; i < IN; i++) a[i * R + j] = pair.a[j * IN + i]!;
          for (let o = 0; o < OUT; o++) b[j * OUT + o] = pair.b[o * r + j]!;
        }
      }
    }
  }
}
