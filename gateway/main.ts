/**
 * The gateway process.
 *
 *   node dist/gateway/main.js --port 8080 --instance demo=http://127.0.0.1:9000
 *
 * Deployments persist in Redis when REDIS_URL is set (request history goes there too), else in
 * --deployments-file. Instances started elsewhere are attached with --instance name=url (repeatable);
 * the warm-pool controller attaches the ones it starts. OTEL_EXPORTER_OTLP_ENDPOINT turns on OTLP export.
 */
import { parseArgs } from 'node:util';
import { startGateway } from './server/index.ts';

const { values: o } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'deployments-file': { type: 'string', default: '.warmgate/deployments.json' },
    instance: { type: 'string', multiple: true, default: [] },
    routing: { type: 'string', default: 'prefix' },
  },
});
if (o.routing !== 'prefix' && o.routing !== 'least-load' && o.routing !== 'round-robin') {
  throw new Error(`--routing must be prefix, least-load or round-robin, got ${o.routing}`);
}
const instances = o.instance.map((spec) => {
  const eq = spec.indexOf('=');
  if (eq < 1) throw new Error(`--instance takes name=url, got ${spec}`);
  return { deployment: spec.slice(0, eq), url: spec.slice(eq + 1) };
});
const redisUrl = process.env.REDIS_URL || undefined;
const gw = await startGateway({
  host: o.host,
  port: Number(o.port),
  routing: o.routing,
  instances,
  redisUrl,
  deploymentsFile: o['deployments-file'],
  otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
  adminToken: process.env.WARMGATE_ADMIN_TOKEN || undefined,
});
console.log(`gateway listening on ${gw.url}`);
const stop = async () => {
  await gw.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
