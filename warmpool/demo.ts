/**
 * `npm start`: the gateway on port 8080 and the warm-pool controller, which keeps one ready runtime
 * instance each of the demo generative model and the demo tensor model (local provider: processes on this
 * host). No Redis needed; REDIS_URL puts deployments and request history there. WARMGATE_MODEL=DIR serves
 * an imported model folder (`warmgate import`) beside them, as a deployment named after the model.
 * WARMGATE_EP=webgpu runs the generative models on the GPU (ONNX Runtime's WebGPU provider, KV pool on
 * the device; WARMGATE_KV_DTYPE=float16 halves it; WARMGATE_GPU=N picks the host's GPU N). Prints
 * example requests; Ctrl-C drains and stops it all.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { DeploymentSpec } from '../gateway/deployments/index.ts';
import { readManifest } from '../runtime/model/index.ts';
import { startWarmgate } from './platform.ts';

const port = Number(process.env.PORT ?? 8080);
const scaling = { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 600_000, ttftSloMs: 1000 };
const ep = process.env.WARMGATE_EP;
if (ep !== undefined && ep !== 'cpu' && ep !== 'webgpu')
  throw new Error(`WARMGATE_EP must be cpu or webgpu, got '${ep}'`);
const kvDtype = process.env.WARMGATE_KV_DTYPE === 'float16' ? ('float16' as const) : undefined;
const gpu = process.env.WARMGATE_GPU === undefined ? undefined : Number(process.env.WARMGATE_GPU);
if (gpu !== undefined && !(Number.isInteger(gpu) && gpu >= 0 && ep === 'webgpu'))
  throw new Error(
    `WARMGATE_GPU takes a GPU's index (0, 1, ...) with WARMGATE_EP=webgpu, got '${process.env.WARMGATE_GPU}'`,
  );
/** The generative deployments' runtime: the provider asked for, required (no silent fallback to the CPU). */
const runtime =
  ep === 'webgpu'
    ? { runtime: { executionProviders: ['webgpu' as const], requireExecutionProvider: true, kvDtype, gpu } }
    : {};
const deployments: DeploymentSpec[] = [
  { name: 'demo', kind: 'generative', model: { path: 'runtime/models/demo' }, scaling, ...runtime },
  { name: 'classifier', kind: 'tensor', model: { path: 'runtime/models/classifier' }, scaling },
];
/** WARMGATE_MODEL: an imported model's deployment, named after the model (lowercased to a valid name). */
const imported = process.env.WARMGATE_MODEL
  ? await (async (dir: string) => {
      const m = await readManifest(dir);
      const name =
        m.name
          .toLowerCase()
          .replace(/[^a-z0-9._-]+/g, '-')
          .replace(/^[^a-z0-9]+/, '')
          .slice(0, 63) || 'model';
      return {
        name,
        kind: 'generative',
        model: { path: resolve(dir) },
        scaling,
        ...runtime,
      } satisfies DeploymentSpec;
    })(process.env.WARMGATE_MODEL)
  : null;
if (imported) deployments.push(imported);

console.log('starting the gateway and the warm-pool controller (loading and warming the models)…');
// The admin API is never open: a token is made for this run unless one is given.
const adminToken = process.env.WARMGATE_ADMIN_TOKEN || randomBytes(24).toString('base64url');
// The demo listens on loopback with the public API open; WARMGATE_API_KEYS=required turns keys on.
const apiKeys = process.env.WARMGATE_API_KEYS === 'required' ? 'required' : 'off';
const wg = await startWarmgate({
  adminToken,
  apiKeys,
  port,
  host: process.env.HOST ?? '127.0.0.1',
  deployments,
  otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
  redisUrl: process.env.REDIS_URL,
});
const registry = wg.gateway.gateway.registry;
const deadline = Date.now() + 120_000;
while (!deployments.every((d) => registry.routable(d.name).length > 0)) {
  const failed = wg.controller.status().find((s) => s.lastFailure);
  if (failed || Date.now() > deadline) {
    console.error(`an instance did not come up: ${failed?.lastFailure?.reason ?? 'timed out after 120 s'}`);
    await wg.close();
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
for (const s of wg.controller.status()) {
  for (const i of s.instances)
    console.log(`${s.deployment}: instance ${i.id} ${i.state}, cold start ${i.coldStartMs} ms`);
}
const gw = wg;
const u = gw.url;
console.log(`
warmgate gateway on ${u}  (models: ${deployments.map((d) => d.name).join(', ')})

  curl -s ${u}/v1/models
  curl -s ${u}/v1/completions -H 'content-type: application/json' \\
    -d '{"model":"demo","prompt":"ROMEO:\\n","max_tokens":48,"temperature":0.8,"seed":1}'
  curl -sN ${u}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"demo","messages":[{"role":"user","content":"Speak, friend."}],"max_tokens":48,"stream":true}'
  curl -s ${u}/v1/functions/demo -H 'content-type: application/json' -d '{"prompt":"JULIET:\\n","max_tokens":32}'
  curl -s ${u}/v2/models/classifier
  curl -s ${u}/v2/models/classifier/infer -H 'content-type: application/json' \\
    -d '{"inputs":[{"name":"features","shape":[1,16],"datatype":"FP32","data":[${Array.from({ length: 16 }, (_, i) => (i / 16).toFixed(2)).join(',')}]}]}'
  curl -s ${u}/metrics | grep warmgate_
${
  imported
    ? `  curl -s ${u}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"${imported.name}","messages":[{"role":"user","content":"Hello!"}],"max_tokens":32}'
`
    : ''
}
admin API token (this run): ${process.env.WARMGATE_ADMIN_TOKEN ? '$WARMGATE_ADMIN_TOKEN' : adminToken}
  curl -s ${u}/admin/v1/deployments -H "authorization: Bearer ${process.env.WARMGATE_ADMIN_TOKEN ? '$WARMGATE_ADMIN_TOKEN' : adminToken}"
  WARMGATE_ADMIN_TOKEN=… npm run warmgate -- instances
public API keys: ${apiKeys === 'off' ? 'off (set WARMGATE_API_KEYS=required to require them)' : 'required (create one: npm run warmgate -- keys create NAME)'}
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await wg.close();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
