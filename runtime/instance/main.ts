/**
 * A runtime instance process: one model behind the internal API.
 *
 *   node dist/runtime/instance/main.js --model runtime/models/demo --kind generative --port 9000
 *
 * It answers /live at once, /ready only after the model is loaded and warmed. SIGTERM (or POST /drain)
 * stops admission, lets in-flight requests finish up to --drain-timeout-ms, then exits 0.
 */
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createInstanceApp } from './app.ts';
import { RuntimeInstance } from './instance.ts';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string', default: 'runtime/models/demo' },
    kind: { type: 'string', default: 'generative' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9000' },
    'kv-mb': { type: 'string', default: '64' },
    'drain-timeout-ms': { type: 'string', default: '30000' },
  },
});
if (o.kind !== 'generative' && o.kind !== 'tensor')
  throw new Error(`--kind must be generative or tensor, got ${o.kind}`);

const instance = new RuntimeInstance({
  modelDir: o.model,
  kind: o.kind,
  engine: { kvCacheBytes: Number(o['kv-mb']) * 2 ** 20 },
  drainTimeoutMs: Number(o['drain-timeout-ms']),
});
// Installed before the model loads: a SIGTERM during loading drains too, and (measured) a handler added
// only after ONNX Runtime had run was never called, the process dying with 143 instead.
process.once('SIGTERM', async () => {
  const clean = await instance.drain();
  server.close();
  await instance.stop();
  process.exit(clean ? 0 : 1);
});
const server = serve(
  { fetch: createInstanceApp(instance).fetch, hostname: o.host, port: Number(o.port) },
  (info) => console.log(`instance listening on ${o.host}:${info.port}, loading ${o.model}`),
);
await instance.start();
console.log(`instance ready: ${instance.modelName}`);
