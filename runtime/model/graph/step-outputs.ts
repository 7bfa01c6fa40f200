import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, type Graph } from '../onnx/index.ts';
import { dimsOf, logits } from './layers.ts';

/** Logits of the given hidden rows and the step's new keys and values [L, T, KVH, Dh]. */
export function stepOutputs(
  g: Graph,
  a: ResolvedArchitecture,
  hidden: string,
  newKeys: readonly string[],
  newValues: readonly string[],
  rows: string,
): void {
  const { L, KVH, Dh, V } = dimsOf(a);
  logits(g, a, hidden);
  g.op('Concat', newKeys, { axis: 0 }, 'new_keys');
  g.op('Concat', newValues, { axis: 0 }, 'new_values');
  const tokens = rows === 'R' ? 'T' : rows;
  g.output('logits', DataType.FLOAT, [rows, V]);
  g.output('new_keys', DataType.FLOAT, [L, tokens, KVH, Dh]);
  g.output('new_values', DataType.FLOAT, [L, tokens, KVH, Dh]);
}
