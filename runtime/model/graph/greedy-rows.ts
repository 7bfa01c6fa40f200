import { DataType, type Graph } from '../onnx/index.ts';

/** The device step's output of each sampled row's greedy choice: [R, 2], its token then its logprob. */
export const GREEDY_ROWS = 'greedy';

/**
 * Each logits row's argmax (the lowest id on ties, as the host sampler) and its log-softmax there,
 * -log(sum(exp(x - max))), as float32 pairs: the token ids are below 2^24, which float32 holds exactly.
 * A greedy request needs only these, so a step of greedy rows brings 8 bytes a row down from the
 * device, not the vocabulary's 4 bytes a token, and the host scans no row. A row with a NaN or an
 * infinite logit gets a NaN or infinite logprob: the engine reads that as the model's output broken.
 */
export function greedyRows(g: Graph, logits: string): void {
  const max = g.reduceMax(logits, 1); // [R,1]
  const logZ = g.op('Log', [g.reduceSum(g.op('Exp', [g.op('Sub', [logits, max])]), 1)]); // [R,1]
  const token = g.op('Cast', [g.op('ArgMax', [logits], { axis: 1, keepdims: 1 })], { to: DataType.FLOAT });
  g.op('Concat', [token, g.op('Neg', [logZ])], { axis: 1 }, GREEDY_ROWS);
  g.output(GREEDY_ROWS, DataType.FLOAT, ['R', 2]);
}
