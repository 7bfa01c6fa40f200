import { type ResolvedArchitecture, weightNames } from '../architecture.ts';
import { DataType, externalTensor, type Graph } from '../onnx/index.ts';
import type { WeightIndex, WeightSpan } from './weight-index.ts';

/** Where a graph's weights are: the index of the shared weights file and its path next to the graph. */
export interface WeightSource {
  readonly index: WeightIndex;
  readonly location: string;
}

const { FLOAT16, UINT8 } = DataType;

/** The names a 4-bit weight's three initializers take (matmul-nbits.ts reads them). */
export const blockNames = (weight: string) => ({
  codes: `${weight}.q4`,
  scales: `${weight}.scales`,
  zeroPoints: `${weight}.zero_points`,
});

/**
 * Declares every weight the architecture reads as an external initializer (a subgraph reads its
 * parent's), as the index stores it. A float weight stored in another type than `compute` is cast right
 * after its initializer, under the weight's own name, so every node reads the compute type (ONNX Runtime
 * folds the Cast when the session opens: the session holds the weight in that type). A 4-bit weight is
 * its codes, scales and zero points; matmul-nbits.ts turns the products that read it into MatMulNBits,
 * whose scales are in the compute type too.
 */
export function attachWeights(
  g: Graph,
  a: ResolvedArchitecture,
  w: WeightSource,
  compute: 'float32' | 'float16' = 'float32',
): void {
  const want = compute === 'float16' ? FLOAT16 : DataType.FLOAT;
  for (const name of weightNames(a)) {
    const e = w.index[name]!;
    const declare = (tensor: string, dataType: DataType, dims: readonly number[], span: WeightSpan = e) =>
      g.external(
        externalTensor(tensor, {
          dataType,
          dims,
          location: w.location,
          offset: span.offset,
          length: span.byteLength,
        }),
      );
    // Declared as stored; cast to the compute type under `as` when they differ.
    const attach = (as: string, stored: DataType, dims: readonly number[], span: WeightSpan = e) => {
      if (stored === want) return void declare(as, stored, dims, span);
      const raw = declare(`${as}.${stored === FLOAT16 ? 'fp16' : 'fp32'}`, stored, dims, span);
      if (!g.isSubgraph) g.node('Cast', [raw], [as], { to: want });
    };
    if (e.dtype === 'float32') attach(name, DataType.FLOAT, e.shape);
    else if (e.dtype === 'float16') attach(name, FLOAT16, e.shape);
    else {
      const q = e.quantization!;
      const blocks = Math.ceil(q.K / q.blockSize);
      const names = blockNames(name);
      declare(names.codes, UINT8, [q.N, blocks, q.blockSize / 2]);
      attach(names.scales, DataType.FLOAT, [q.N, blocks], q.scales);
      declare(names.zeroPoints, UINT8, [q.N, Math.ceil(blocks / 2)], q.zeroPoints);
    }
  }
}
