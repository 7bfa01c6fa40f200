import { type ResolvedArchitecture, weightNames } from '../architecture.ts';
import { DataType, externalTensor, type Graph } from '../onnx/index.ts';
import type { WeightIndex } from './weight-index.ts';

/** Where a graph's weights are: the index of the shared weights file and its path next to the graph. */
export interface WeightSource {
  readonly index: WeightIndex;
  readonly location: string;
}

/** Declares every weight the architecture reads as an external initializer (a subgraph reads its parent's). */
export function attachWeights(g: Graph, a: ResolvedArchitecture, w: WeightSource): void {
  for (const name of weightNames(a)) {
    const e = w.index[name]!;
    g.external(
      externalTensor(name, {
        dataType: DataType.FLOAT,
        dims: e.shape,
        location: w.location,
        offset: e.offset,
        length: e.byteLength,
      }),
    );
  }
}
