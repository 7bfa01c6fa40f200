import { join } from 'node:path';
import ort from 'onnxruntime-node';
import type { Architecture } from '../../../../runtime/model/architecture.ts';
import { SEQ_LENGTHS, SHAPE, slotOf } from './step-schedule.ts';

/**
 * decode_contiguous.onnx's step for sequence a's token at P = SEQ_LENGTHS[0] - 1, over a contiguous
 * cache of its first P keys and values read out of the engine's pool after runSchedule: its logits row
 * (for position P) and new keys [L, 1, KVH, Dh].
 */
export async function contiguousStep(
  dir: string,
  arch: Architecture,
  tokens: readonly number[],
  pool: { keys: Float32Array[]; values: Float32Array[] },
): Promise<{ logits: Float32Array; newKeys: Float32Array; P: number }> {
  const P = SEQ_LENGTHS[0] - 1;
  const { n_layer: L, n_kv_head: KVH, head_dim: Dh } = arch;
  const TS = SHAPE.blockSize * SHAPE.tileBlocks;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(tokens[P]!)), [1]),
    positions: new ort.Tensor('int64', BigInt64Array.of(BigInt(P)), [1]),
    past_mask: new ort.Tensor('float32', new Float32Array(P), [1, 1, 1, P]),
  };
  for (let l = 0; l < L; l++) {
    const k = new Float32Array(KVH * Dh * P);
    const v = new Float32Array(KVH * P * Dh);
    for (let h = 0; h < KVH; h++)
      for (let p = 0; p < P; p++) {
        const { tile, column } = slotOf(0, p);
        for (let j = 0; j < Dh; j++) {
          k[(h * Dh + j) * P + p] = pool.keys[l]![((tile * KVH + h) * Dh + j) * TS + column]!;
          v[(h * P + p) * Dh + j] = pool.values[l]![((tile * KVH + h) * TS + column) * Dh + j]!;
        }
      }
    feeds[`k_past_${l}`] = new ort.Tensor('float32', k, [1, KVH, Dh, P]);
    feeds[`v_past_${l}`] = new ort.Tensor('float32', v, [1, KVH, P, Dh]);
  }
  const session = await ort.InferenceSession.create(join(dir, 'decode_contiguous.onnx'), {
    intraOpNumThreads: 1,
  });
  try {
    const out = await session.run(feeds);
    return {
      logits: out.logits!.data as Float32Array,
      newKeys: out.new_keys!.data as Float32Array,
      P,
    };
  } finally {
    await session.release();
  }
}
