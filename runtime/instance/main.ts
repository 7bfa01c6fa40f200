/**
 * A runtime instance process: one model behind the internal API.
 *
 *   node dist/runtime/instance/main.js --model runtime/models/demo --kind generative --port 9000
 *
 * It answers /live at once, /ready only after the model is loaded and warmed. SIGTERM (or POST /drain)
 * stops admission, lets in-flight requests finish up to --drain-timeout-ms, then exits 0.
 *
 * --ep cuda,cpu picks ONNX Runtime execution providers in preference order; one this build lacks is
 * skipped with a warning, or, with --ep-required, the process exits 1 saying so. Spans go to
 * OTEL_EXPORTER_OTLP_ENDPOINT (OTLP http/protobuf) when it is set; metrics are on GET /metrics.
 */
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createTelemetry } from '../telemetry/index.ts';
import { createInstanceApp } from './app.ts';
import { EXECUTION_PROVIDERS } from './execution-providers.ts';
import { RuntimeInstance } from './instance.ts';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string', default: 'runtime/models/demo' },
    kind: { type: 'string', default: 'generative' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9000' },
    'kv-mb': { type: 'string', default: '64' },
    'drain-timeout-ms': { type: 'string', default: '30000' },
    ep: { type: 'string', default: 'cpu' },
    'ep-required': { type: 'boolean', default: false },
    'intra-op-threads': { type: 'string' },
    // Generative batching limits (the engine validates them and names a bad one).
    'max-running-seqs': { type: 'string' },
    'max-batched-tokens': { type: 'string' },
    // Tensor dynamic batching.
    'max-batch-size': { type: 'string', default: '64' },
    'preferred-batch-sizes': { type: 'string', default: '' },
    'max-queue-delay-ms': { type: 'string', default: '2' },
  },
});
if (o.kind !== 'generative' && o.kind !== 'tensor')
  throw new Error(`--kind must be generative or tensor, got ${o.kind}`);
const providers = o.ep.split(',').map((p) => p.trim());
for (const p of providers) {
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(p))
    throw new Error(`--ep takes a comma list of ${EXECUTION_PROVIDERS.join(', ')}; got ${p}`);
}

const num = (flag: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got ${v}`);
  return n;
};
const engineLimits = Object.fromEntries(
  Object.entries({
    intraOpThreads: num('intra-op-threads', o['intra-op-threads'], 0),
    maxRunningSeqs: num('max-running-seqs', o['max-running-seqs'], 1),
    maxBatchedTokens: num('max-batched-tokens', o['max-batched-tokens'], 1),
  }).filter(([, v]) => v !== undefined),
);
const maxBatchSize = num('max-batch-size', o['max-batch-size'], 1)!;
const preferredBatchSizes = o['preferred-batch-sizes']
  ? o['preferred-batch-sizes'].split(',').map((v) => num('preferred-batch-sizes', v.trim(), 1)!)
  : [];
if (preferredBatchSizes.some((n) => n > maxBatchSize))
  throw new Error(`--preferred-batch-sizes must not exceed --max-batch-size (${maxBatchSize})`);

const telemetry = createTelemetry({
  serviceName: 'warmgate-runtime',
  otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
});

const instance = new RuntimeInstance({
  modelDir: o.model,
  kind: o.kind,
  engine: { kvCacheBytes: Number(o['kv-mb']) * 2 ** 20, ...engineLimits },
  batching: {
    maxBatchSize,
    preferredBatchSizes,
    maxQueueDelayMs: num('max-queue-delay-ms', o['max-queue-delay-ms'], 0)!,
  },
  drainTimeoutMs: Number(o['drain-timeout-ms']),
  executionProviders: providers,
  requireExecutionProvider: o['ep-required'],
  telemetry,
});
// Installed before the model loads: a SIGTERM during loading drains too, and (measured) a handler added
// only after ONNX Runtime had run was never called, the process dying with 143 instead.
process.once('SIGTERM', async () => {
  const clean = await instance.drain();
  server.close();
  await instance.stop();
  await telemetry.shutdown(); // exports the spans still batched
  process.exit(clean ? 0 : 1);
});
const server = serve(
  { fetch: createInstanceApp(instance).fetch, hostname: o.host, port: Number(o.port) },
  (info) => console.log(`instance listening on ${o.host}:${info.port}, loading ${o.model}`),
);
try {
  await instance.start();
} catch (e) {
  const code = (e as { code?: string }).code;
  console.error(`instance failed to start${code ? ` (${code})` : ''}: ${(e as Error).message}`);
  server.close();
  await telemetry.shutdown();
  process.exit(1);
}
console.log(`instance ready: ${instance.modelName} on ${instance.executionProvider}`);
