import ort from 'onnxruntime-node';
import { sessionOptions } from '../model/index.ts';

/**
 * A tiny graph (y = Identity(x), float32[1]) whose session pays ONNX Runtime's once-per-process set-up;
 * written by runtime/model/py/make_primer.py.
 */
const PRIMER = Buffer.from(
  'CAgSCHdhcm1nYXRlOjwKEAoBeBIBeSIISWRlbnRpdHkSBnByaW1lcloPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEBE=',
  'base64',
);

export interface Standby {
  /** Committed, zeroed memory for the KV cache of the model it will get. */
  readonly kvArena: ArrayBuffer;
  /** How long priming took (ms): what an assigned instance does not pay again. */
  readonly primeMs: number;
}

/**
 * Does, before any model is known, the start-up work every instance repeats: ONNX Runtime's first
 * session (environment, thread pools, CPU kernels registered) and committing the KV cache's pages.
 */
export async function primeStandby(kvCacheBytes: number): Promise<Standby> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(PRIMER, sessionOptions({}));
  try {
    await session.run({ x: new ort.Tensor('float32', new Float32Array(1), [1]) });
  } finally {
    await session.release();
  }
  const kvArena = new ArrayBuffer(kvCacheBytes);
  new Uint8Array(kvArena).fill(0); // writes every page, so the kernel commits them now
  return { kvArena, primeMs: performance.now() - t0 };
}
