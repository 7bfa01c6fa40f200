import type { StepEntry, StepTokens } from './step-inputs.ts';

/**
 * The device step's sampled rows (graph/greedy-rows.ts): every sampled entry's row gets its greedy token
 * and logprob; only the entries that need the whole row (anything but plain greedy) get its logits back.
 * A step that samples nothing still computes one row (its last token's, read by no entry): the device's
 * reductions take no empty input.
 */
export interface SampledRows {
  /** [R >= 1]: the step tokens whose logits the graph computes. */
  readonly logitsIndex: BigInt64Array;
  /** Per entry, its row among the R, or -1. */
  readonly greedyRow: Int32Array;
  /** [W]: which of the R rows come back whole. */
  readonly wholeRows: Int32Array;
  /** Per entry, its row among the W whole rows, or -1. */
  readonly logitsRow: Int32Array;
}

export function sampledRows(entries: readonly StepEntry[], tokens: StepTokens): SampledRows {
  const greedyRow = tokens.logitsRow;
  const logitsRow = new Int32Array(entries.length).fill(-1);
  const wholeRows: number[] = [];
  entries.forEach((e, i) => {
    const row = greedyRow[i]!;
    if (row < 0 || e.wholeLogits === false) return;
    logitsRow[i] = wholeRows.length;
    wholeRows.push(row);
  });
  const logitsIndex =
    tokens.logitsIndex.length > 0 ? tokens.logitsIndex : BigInt64Array.of(BigInt(tokens.numTokens - 1));
  return { logitsIndex, greedyRow, wholeRows: Int32Array.from(wholeRows), logitsRow };
}
