/**
 * The gateway process (one of the image's three commands; see infra/):
 *
 *   PORT=8080 REDIS_URL=redis://... WARMGATE_ADMIN_TOKEN=... node dist/gateway/main.js
 *
 * Its environment is gateway/config/gateway-environment.ts. With REDIS_URL it is one replica of many: it
 * serves the deployments and routes to the instances the warm-pool controller (warmpool/main.ts)
 * publishes there, and announces its demand to it. Without Redis, deployments persist in
 * WARMGATE_DEPLOYMENTS_FILE and instances started elsewhere are attached with --instance name=url
 * (repeatable). SIGTERM: /ready turns 503, in-flight requests finish, then it exits.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { readEnvironment } from './config/environment.ts';
import { createHistoryStore } from './request-history/index.ts';
import { GATEWAY_ENVIRONMENT } from './config/gateway-environment.ts';
import { startGatewayReplica } from './server/index.ts';

const { values: env, unknown } = readEnvironment(GATEWAY_ENVIRONMENT, process.env);
for (const name of unknown) console.warn(`warning: ${name} is not a gateway variable; it is ignored`);
const { values: o } = parseArgs({
  options: { instance: { type: 'string', multiple: true, default: [] } },
});
const instances = o.instance.map((spec) => {
  const eq = spec.indexOf('=');
  if (eq < 1) throw new Error(`--instance takes name=url, got ${spec}`);
  return { deployment: spec.slice(0, eq), url: spec.slice(eq + 1) };
});
const gw = await startGatewayReplica({
  replicaId: env.WARMGATE_REPLICA_ID ?? `${hostname()}:${process.pid}`,
  host: env.HOST,
  port: env.PORT,
  routing: env.WARMGATE_ROUTING as 'prefix' | 'least-load' | 'round-robin',
  instances,
  redisUrl: env.REDIS_URL,
  deploymentsFile: env.WARMGATE_DEPLOYMENTS_FILE,
  otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
  adminToken: env.WARMGATE_ADMIN_TOKEN,
  apiKeys: env.WARMGATE_API_KEYS as 'required' | 'off',
  bodyLimitBytes: env.WARMGATE_BODY_LIMIT_BYTES,
  maxHeaderBytes: env.WARMGATE_MAX_HEADER_BYTES,
  inputLimits: {
    maxPromptTokens: env.WARMGATE_MAX_PROMPT_TOKENS,
    maxTokens: env.WARMGATE_MAX_TOKENS,
    maxN: env.WARMGATE_MAX_N,
  },
  recordContent: env.WARMGATE_RECORD_CONTENT,
  upstreamIdleTimeoutMs: env.WARMGATE_UPSTREAM_IDLE_TIMEOUT_MS,
  history: createHistoryStore({
    redisUrl: env.REDIS_URL,
    maxUnsentKeys: env.WARMGATE_HISTORY_MAX_UNSENT_KEYS,
  }),
  limits: {
    maxConcurrency: env.WARMGATE_MAX_CONCURRENCY,
    maxQueued: env.WARMGATE_MAX_QUEUED,
    queueTimeoutMs: env.WARMGATE_QUEUE_TIMEOUT_MS,
  },
});
console.log(`gateway listening on ${gw.url}`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // Load balancers see /ready fail and stop sending; what is in flight finishes, up to the grace period.
  gw.gateway.gateway.stopAccepting();
  const deadline = Date.now() + (env.WARMGATE_SHUTDOWN_GRACE_MS ?? 25_000);
  const inFlight = () =>
    gw.gateway.deployments
      .list()
      .filter((d) => d.kind !== 'adapter') // an adapter's requests are in its base's gate
      .reduce((n, d) => n + gw.gateway.gateway.context.gate(d.name).inFlight, 0);
  while (inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await gw.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
