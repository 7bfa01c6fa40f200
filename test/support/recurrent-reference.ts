// The recurrent demo model's whole sequence in one call: runtime/models/recurrent/sequence.onnx, ONNX's own
// RNN operator over the same weights as the served one-step cell. The independent reference that a
// sequence served request by request must equal.
import ort from 'onnxruntime-node';

export const RECURRENT_DIR = new URL('../../runtime/models/recurrent', import.meta.url).pathname;
export const RECURRENT_INPUT = 4;
export const RECURRENT_OUTPUT = 2;

export async function openRecurrentReference(): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(`${RECURRENT_DIR}/sequence.onnx`, { intraOpNumThreads: 1 });
}

/** Each step's output `y` for the sequence of inputs `xs` (one row of RECURRENT_INPUT each). */
export async function unrolled(session: ort.InferenceSession, xs: readonly number[][]): Promise<number[][]> {
  const flat = Float32Array.from(xs.flat());
  const out = await session.run({ xs: new ort.Tensor('float32', flat, [xs.length, 1, RECURRENT_INPUT]) });
  const ys = Array.from(out.ys!.data as Float32Array);
  return xs.map((_, t) => ys.slice(t * RECURRENT_OUTPUT, (t + 1) * RECURRENT_OUTPUT));
}

/** Seeded inputs of `steps` rows in [-1.5, 1.5). */
export function sequenceInputs(seed: number, steps: number): number[][] {
  let a = seed >>> 0;
  const rand = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  return Array.from({ length: steps }, () =>
    Array.from({ length: RECURRENT_INPUT }, () => Math.fround(rand() * 3 - 1.5)),
  );
}

/** Largest absolute difference between two equally shaped lists of rows. */
export function maxDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}
