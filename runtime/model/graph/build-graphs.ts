import type { ResolvedArchitecture } from '../architecture.ts';
import { encodeModel, type Graph } from '../onnx/index.ts';
import { checkArchitecture } from './check-architecture.ts';
import { decodeContiguousGraph } from './decode-contiguous.ts';
import { engineGraph } from './engine.ts';
import { referenceGraph } from './reference.ts';
import { checkWeightIndex, type WeightIndex } from './weight-index.ts';

export interface ModelGraphs {
  readonly engine: Uint8Array;
  readonly reference: Uint8Array;
  readonly decodeContiguous: Uint8Array;
}

/**
 * A model's three ONNX files, all reading one weights file (`weightsLocation`, relative to the folder the
 * graphs are written to) through `index`. `name` goes into each graph's metadata (warmgate.model).
 */
export function buildGraphs(
  arch: ResolvedArchitecture,
  index: WeightIndex,
  weightsLocation = 'weights.bin',
  name = 'warmgate-model',
): ModelGraphs {
  checkArchitecture(arch);
  checkWeightIndex(arch, index);
  const w = { index, location: weightsLocation };
  const encode = (role: string, g: Graph) =>
    encodeModel(g.model({ 'warmgate.model': name, 'warmgate.role': role }));
  return {
    engine: encode('engine', engineGraph(arch, w)),
    reference: encode('reference', referenceGraph(arch, w)),
    decodeContiguous: encode('decode_contiguous', decodeContiguousGraph(arch, w)),
  };
}
