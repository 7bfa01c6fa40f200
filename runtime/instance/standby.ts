import ort from 'onnxruntime-node';
import { Hono } from 'hono';
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

/** Answers of `/assign`: accepted (loading begins), or why not. */
export type AssignResult = { ok: true } | { ok: false; status: 400 | 409; code: string; message: string };

/**
 * The API of a standby process until it gets a model: alive, never ready, and POST /assign with
 * `{ "args": [...] }` (the flags main.ts takes) turns it into that instance.
 */
export function createStandbyApp(isPrimed: () => boolean, assign: (args: string[]) => AssignResult): Hono {
  const app = new Hono();
  app.get('/live', (c) => c.json({ status: 'live', state: 'standby', primed: isPrimed() }));
  app.get('/ready', (c) => c.json({ ready: false, state: 'standby' }, 503));
  app.post('/assign', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { args?: unknown } | null;
    const args = body?.args;
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
      return c.json({ error: { code: 'invalid_assignment', message: 'send {"args": [flag, ...]}' } }, 400);
    const r = assign(args);
    if (!r.ok) return c.json({ error: { code: r.code, message: r.message } }, r.status);
    return c.json({ state: 'loading' }, 202);
  });
  app.post('/drain', (c) => c.json({ state: 'standby' }, 202));
  return app;
}
