/**
 * `npm start`: the gateway on port 8080 with the demo generative model and the demo tensor model, each on
 * a ready runtime instance of its own, no Redis needed. Prints example requests; Ctrl-C stops it all.
 */
import { launchInstance } from '../runtime/instance/launch.ts';
import type { DeploymentSpec } from './deployments/index.ts';
import { startGateway } from './server/index.ts';

const port = Number(process.env.PORT ?? 8080);
const scaling = { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 600_000, ttftSloMs: 1000 };
const deployments: DeploymentSpec[] = [
  { name: 'demo', kind: 'generative', model: { path: 'runtime/models/demo' }, scaling },
  { name: 'classifier', kind: 'tensor', model: { path: 'runtime/models/classifier' }, scaling },
];

console.log('starting runtime instances (loading and warming the models)…');
const instances = await Promise.all(
  deployments.map((d) =>
    launchInstance({ model: (d.model as { path: string }).path, kind: d.kind, output: 'inherit' }),
  ),
);
const gw = await startGateway({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  deployments,
  instances: deployments.map((d, i) => ({ deployment: d.name, url: instances[i]!.url })),
  otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
  redisUrl: process.env.REDIS_URL,
});

const u = gw.url;
console.log(`
warmgate gateway on ${u}  (models: demo, classifier)

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
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await gw.close();
  await Promise.all(instances.map((i) => i.stop()));
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
