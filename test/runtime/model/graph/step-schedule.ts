import assert from 'node:assert/strict';
import { KVStore } from '../../../../runtime/engine/runner/kv-store.ts';
import { ModelRunner } from '../../../../runtime/engine/runner/model-runner.ts';
import {
  buildStepInputs,
  type StepEntry,
  type TileShape,
} from '../../../../runtime/engine/runner/step-inputs.ts';
import type { LoadedModel } from '../../../../runtime/model/index.ts';

/** Blocks of 4 slots, two blocks a tile: sequences a and b interleave, so each tile holds both. */
export const SHAPE: TileShape = { blockSize: 4, tileBlocks: 2 };
const TABLES = [
  Array.from({ length: 8 }, (_, i) => 2 * i), // a: blocks 0, 2, 4, ...
  Array.from({ length: 8 }, (_, i) => 2 * i + 1), // b: blocks 1, 3, 5, ...
];
export const SEQ_LENGTHS = [18, 10] as const;

/** Where position `pos` of sequence `seq` lies in the KV pool: its tile and column. */
export function slotOf(seq: 0 | 1, pos: number): { tile: number; column: number } {
  const block = TABLES[seq]![Math.floor(pos / SHAPE.blockSize)]!;
  const tile = Math.floor(block / SHAPE.tileBlocks);
  return { tile, column: (block % SHAPE.tileBlocks) * SHAPE.blockSize + (pos % SHAPE.blockSize) };
}

interface Step {
  readonly label: string;
  /** [sequence, new tokens] in batch order. */
  readonly work: readonly (readonly [0 | 1, number])[];
  /** Whether the step takes engine.onnx's decode-only branch. */
  readonly decodeOnly: boolean;
}

/**
 * Steps that take every path of engine.onnx: a first prefill (new part only), a prefill chunk over a
 * gathered past next to a decode reading its tiles in place (direct), two decodes where the second
 * reads the tiles the first owns (shared), decode-only steps, and a decode next to a last prefill chunk.
 */
export const SCHEDULE: readonly Step[] = [
  {
    label: 'prefill a and b',
    work: [
      [0, 8],
      [1, 5],
    ],
    decodeOnly: false,
  },
  {
    label: 'a prefill chunk over its past, b decodes',
    work: [
      [0, 4],
      [1, 1],
    ],
    decodeOnly: false,
  },
  {
    label: 'a and b decode, b reading tiles a owns',
    work: [
      [0, 1],
      [1, 1],
    ],
    decodeOnly: false,
  },
  { label: 'a decodes alone', work: [[0, 1]], decodeOnly: true },
  { label: 'b decodes alone', work: [[1, 1]], decodeOnly: true },
  {
    label: 'b decodes, a prefills its last chunk',
    work: [
      [1, 1],
      [0, 3],
    ],
    decodeOnly: false,
  },
  {
    label: 'a and b decode again',
    work: [
      [0, 1],
      [1, 1],
    ],
    decodeOnly: false,
  },
];

/** One sampled row: the logits a step gave for a sequence's last new token. */
export interface Row {
  readonly step: string;
  readonly seq: number;
  /** Tokens of the sequence the row's logits predict after (the row is at position length - 1). */
  readonly length: number;
  readonly logits: Float32Array;
}

/**
 * Runs SCHEDULE over `tokens` (two sequences of SEQ_LENGTHS) through the engine's own runner and step
 * layout; returns every sampled row and the KV pool after the last step.
 */
export async function runSchedule(
  model: LoadedModel,
  tokens: readonly (readonly number[])[],
): Promise<{ rows: Row[]; keys: Float32Array[]; values: Float32Array[] }> {
  const store = new KVStore(model.manifest.architecture, SHAPE, 16);
  const runner = new ModelRunner(model, store);
  const vocab = model.manifest.architecture.vocab_size;
  const computed = [0, 0];
  const rows: Row[] = [];
  for (const step of SCHEDULE) {
    const entries: StepEntry[] = step.work.map(([seq, numNew]) => ({
      tokens: tokens[seq]!,
      numComputed: computed[seq]!,
      numNew,
      blockTable: TABLES[seq]!,
      samples: true,
    }));
    assert.equal(buildStepInputs(entries, SHAPE).decodeOnly, step.decodeOnly, `${step.label}: branch`);
    const out = await runner.step(entries, []);
    step.work.forEach(([seq, numNew], i) => {
      computed[seq]! += numNew;
      const row = out.logitsRow[i]!;
      rows.push({
        step: step.label,
        seq,
        length: computed[seq]!,
        logits: out.logits.slice(row * vocab, (row + 1) * vocab),
      });
    });
  }
  assert.deepEqual(computed, [...SEQ_LENGTHS], 'the schedule covers both sequences');
  return { rows, keys: store.keys, values: store.values };
}

/** Per row of V: max |got - want| / max |want| (scaled by the row's largest logit, as the engine tests do). */
export function rowRelError(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  assert.ok(scale > 0, 'reference row is all zeros');
  return diff / scale;
}
