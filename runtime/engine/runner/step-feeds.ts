import ort from 'onnxruntime-node';
import type { GatherInputs, StepInputs } from './step-inputs.ts';

const i64 = (data: BigInt64Array, dims: number[]) => new ort.Tensor('int64', data, dims);
const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

/**
 * The feeds both step graphs share (engine.onnx and the device contract): the step's tokens, the gathered
 * and shared paths' tiles, masks and query rows, the new tokens' mask and the rows to return logits for.
 */
export function layoutFeeds(s: StepInputs, tileSize: number): Record<string, ort.Tensor> {
  const T = s.numTokens;
  const gatherFeeds = (prefix: string, rowName: string, g: GatherInputs) => {
    const [S, MB, QM] = g.shape;
    return {
      [`${prefix}_blocks`]: i64(g.tiles, [S, MB]),
      [`${prefix}_mask`]: f32(g.mask, [S, 1, 1, MB * tileSize]),
      [`${prefix}_query`]: i64(g.query, [S, QM]),
      [rowName]: i64(g.tokenRow, [T]),
    };
  };
  return {
    input_ids: i64(s.inputIds, [T]),
    positions: i64(s.positions, [T]),
    ...gatherFeeds('gather', 'token_gather_row', s.gathered),
    ...gatherFeeds('shared', 'token_shared_row', s.shared),
    new_mask: f32(s.newMask, [T, T]),
    logits_index: i64(s.logitsIndex, [s.logitsIndex.length]),
  };
}
