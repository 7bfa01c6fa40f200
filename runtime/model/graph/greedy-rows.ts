import { DataType, type Graph } from '../onnx/index.ts';

/**
 * The device step's output of each sampled row's greedy choice: [R, 4], its token and logprob, then the
 * same with the model's EOS ids left out of the choice (a request with ignoreEos).
 */
export const GREEDY_ROWS = 'greedy';
/** Floats a greedy row takes in GREEDY_ROWS. */
export const GREEDY_ROW_WIDTH = 4;

/**
 * Each logits row's argmax (the lowest id on ties, as the host sampler) and its log-softmax there,
 * -log(sum(exp(x - max))), and the argmax and log-softmax with `eosTokenIds` masked out of the choice
 * (the log-softmax still over the whole row, as the host reports it), as float32: the token ids are
 * below 2^24, which float32 holds exactly. A greedy request needs only these, so a step of greedy rows
 * brings 16 bytes a row down from the device, not the vocabulary's 4 bytes a token, and the host scans
 * no row. A row with a NaN or an infinite logit gets a NaN or infinite logprob: the engine reads that
 * as the model's output broken.
 */
export function greedyRows(g: Graph, logits: string, vocab: number, eosTokenIds: readonly number[]): void {
  const max = g.reduceMax(logits, 1); // [R,1]
  const logZ = g.op('Log', [g.reduceSum(g.op('Exp', [g.op('Sub', [logits, max])]), 1)]); // [R,1]
  const argmax = (row: string) =>
    g.op('Cast', [g.op('ArgMax', [row], { axis: 1, keepdims: 1 })], { to: DataType.FLOAT });
  const logprob = g.op('Neg', [logZ]);
  // -inf at the EOS ids: the masked row's max is the best other token's logit.
  const mask = Array.from({ length: vocab }, (_, id) => (eosTokenIds.includes(id) ? -Infinity : 0));
  const masked = g.op('Add', [logits, g.const(mask, 'float32', [vocab])]);
  const maskedLogprob = g.op('Sub', [g.op('Sub', [g.reduceMax(masked, 1), max]), logZ]);
  g.op('Concat', [argmax(logits), logprob, argmax(masked), maskedLogprob], { axis: 1 }, GREEDY_ROWS);
  g.output(GREEDY_ROWS, DataType.FLOAT, ['R', GREEDY_ROW_WIDTH]);
}
