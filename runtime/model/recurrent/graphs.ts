import { DataType, Graph, type ModelProto } from '../onnx/index.ts';

/** The recurrent demo's weights: an Elman cell in ONNX RNN's layout, and a linear read-out. */
export interface RecurrentWeights {
  readonly input: number;
  readonly hidden: number;
  readonly output: number;
  /** [hidden, input]: W of ONNX RNN (one direction). */
  readonly w: readonly number[];
  /** [hidden, hidden]: R of ONNX RNN. */
  readonly r: readonly number[];
  /** [2 * hidden]: Wb then Rb. */
  readonly b: readonly number[];
  /** [hidden, output] and [output]: y = h V + c. */
  readonly v: readonly number[];
  readonly c: readonly number[];
}

/** Row-major transpose of a [rows, cols] matrix. */
function transposed(m: readonly number[], rows: number, cols: number): number[] {
  const out = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j]!;
  return out;
}

/**
 * One step of the sequence, for serving: `x` [n, input] and `state_in` [n, hidden] give `y` [n, output]
 * and `state_out` [n, hidden], with h' = tanh(x Wᵀ + h Rᵀ + Wb + Rb) and y = h' V + c. The state is an
 * ordinary input and output: the instance keeps it between a sequence's requests.
 */
export function stepGraph(wt: RecurrentWeights): ModelProto {
  const { input: I, hidden: H, output: O } = wt;
  const g = new Graph('warmgate_recurrent_step');
  const x = g.input('x', DataType.FLOAT, ['batch', I]);
  const h = g.input('state_in', DataType.FLOAT, ['batch', H]);
  const bias = wt.b.slice(0, H).map((v, i) => v + wt.b[H + i]!);
  const pre = g.op('Add', [
    g.op('Add', [
      g.matmul(x, g.const(transposed(wt.w, H, I), 'float32', [I, H])),
      g.matmul(h, g.const(transposed(wt.r, H, H), 'float32', [H, H])),
    ]),
    g.const(bias, 'float32', [H]),
  ]);
  const next = g.op('Tanh', [pre], {}, 'state_out');
  g.op(
    'Add',
    [g.matmul(next, g.const([...wt.v], 'float32', [H, O])), g.const([...wt.c], 'float32', [O])],
    {},
    'y',
  );
  g.output('y', DataType.FLOAT, ['batch', O]);
  g.output('state_out', DataType.FLOAT, ['batch', H]);
  return g.model({ 'warmgate.role': 'recurrent_step' });
}

/**
 * The whole sequence in one call, through ONNX's own RNN operator: the tests' independent reference.
 * `xs` [steps, n, input] gives `ys` [steps, n, output] and `final_state` [n, hidden], from a zero state.
 */
export function sequenceGraph(wt: RecurrentWeights): ModelProto {
  const { input: I, hidden: H, output: O } = wt;
  const g = new Graph('warmgate_recurrent_sequence');
  const xs = g.input('xs', DataType.FLOAT, ['steps', 'batch', I]);
  const w = g.const([...wt.w], 'float32', [1, H, I]);
  const r = g.const([...wt.r], 'float32', [1, H, H]);
  const b = g.const([...wt.b], 'float32', [1, 2 * H]);
  const all = 'rnn_y';
  g.node('RNN', [xs, w, r, b], [all, 'rnn_y_h'], { hidden_size: H });
  const hs = g.op('Squeeze', [all, g.const([1])]); // [steps, 1, n, H] -> [steps, n, H]
  g.op(
    'Add',
    [g.matmul(hs, g.const([...wt.v], 'float32', [H, O])), g.const([...wt.c], 'float32', [O])],
    {},
    'ys',
  );
  g.op('Squeeze', ['rnn_y_h', g.const([0])], {}, 'final_state');
  g.output('ys', DataType.FLOAT, ['steps', 'batch', O]);
  g.output('final_state', DataType.FLOAT, ['batch', H]);
  return g.model({ 'warmgate.role': 'recurrent_reference' });
}
