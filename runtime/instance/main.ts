/**
 * A runtime instance process: one model behind the internal API.
 *
 *   node dist/runtime/instance/main.js --model runtime/models/demo --kind generative --port 9000
 *
 * It answers /live at once, /ready only after the model is loaded and warmed. SIGTERM (or POST /drain)
 * stops admission, lets in-flight requests finish up to --drain-timeout-ms, then exits 0.
 *
 * With --standby it loads no model: it primes ONNX Runtime and commits --kv-mb of KV memory, then waits
 * for POST /assign {"args": [...]} carrying the flags above, and becomes that instance without paying
 * process start, imports or ONNX Runtime's set-up again (warm pools keep one per host).
 *
 * --exit-with-parent drains and exits when the process that started it ends (set by a provider that
 * keeps no records for adoption; a standby does it until assigned).
 *
 * --graph-cache DIR keeps ONNX Runtime's optimized graph there, so later starts of the model skip the
 * optimizer.
 *
 * --ep cuda,cpu picks ONNX Runtime execution providers in preference order; one this build lacks is
 * skipped with a warning, or, with --ep-required, the process exits 1 saying so. --gpu N runs webgpu on
 * the host's GPU N (PCI bus order, nvidia-smi's numbering; runtime/instance/gpu-select.ts). Spans go to
 * OTEL_EXPORTER_OTLP_ENDPOINT (OTLP http/protobuf) when it is set; metrics are on GET /metrics.
 */
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createTelemetry } from '../telemetry/index.ts';
import { createInstanceApp } from './app.ts';
import { type InstanceConfig, parseInstanceArgs } from './config.ts';
import { RuntimeInstance } from './instance.ts';
import { watchParent } from './parent-watch.ts';
import { type AssignResult, createStandbyApp } from './http/standby-app.ts';
import { primeStandby, type Standby } from './standby.ts';

const config = parseInstanceArgs(process.argv.slice(2));
const telemetry = createTelemetry({
  serviceName: 'warmgate-runtime',
  otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
});

let instance: RuntimeInstance | null = null;
let app: Hono;

// The provider that started this process may end before it (an instance outlives its controller, to be
// adopted by the next): writing to its closed stderr pipe must not kill the instance.
process.stderr.on('error', () => undefined);
process.stdout.on('error', () => undefined);
const endWithParent = () => process.kill(process.pid, 'SIGTERM'); // the handler below drains

// Installed before anything loads: a SIGTERM during loading drains too, and (measured) a handler added
// only after ONNX Runtime had run was never called, the process dying with 143 instead.
process.once('SIGTERM', async () => {
  const clean = (await instance?.drain()) ?? true;
  server.close();
  await instance?.stop();
  await telemetry.shutdown(); // exports the spans still batched
  process.exit(clean ? 0 : 1);
});

/** Builds the instance for `c`; its API is served from now on. */
function become(c: InstanceConfig, standby?: Standby): RuntimeInstance {
  if (c.exitWithParent) watchParent(endWithParent);
  const inst = new RuntimeInstance({
    modelDir: c.model,
    kind: c.kind,
    engine: c.engine,
    batching: c.batching,
    drainTimeoutMs: c.drainTimeoutMs,
    executionProviders: c.executionProviders,
    requireExecutionProvider: c.requireExecutionProvider,
    ...(c.gpu !== undefined && { gpu: c.gpu }),
    kvDtype: c.kvDtype,
    ...(c.kv !== undefined && { kv: c.kv }),
    ...(c.graphCacheDir !== undefined && { graphCacheDir: c.graphCacheDir }),
    ...(c.adapters !== undefined && { adapters: c.adapters }),
    ...(c.sequence !== undefined && { sequence: c.sequence }),
    telemetry,
    ...(standby && { kvArena: standby.kvArena }),
  });
  instance = inst;
  app = createInstanceApp(inst);
  return inst;
}

/** Loads and warms the model; exits 1 if the instance cannot start. */
function load(inst: RuntimeInstance): void {
  inst.start().then(
    () => {
      const p = inst.startPhases!;
      const parts =
        p.device === undefined ? '' : ` (device ${p.device.toFixed(0)}, weights ${p.weights!.toFixed(0)})`;
      const kv = inst.kvPool;
      const pool =
        kv?.place === 'device'
          ? `, KV on the device (${kv.dtype}, ${kv.attention} attention, ${kv.compute} step)`
          : '';
      const gpu = inst.gpu ? ` (GPU ${inst.gpu.index}, ${inst.gpu.pci})` : '';
      console.log(
        `instance ready: ${inst.modelName} on ${inst.executionProvider}${gpu}${pool}: load ${p.load.toFixed(0)} ms${parts}, warm-up ${p.warmUp.toFixed(0)} ms`,
      );
    },
    async (e: unknown) => {
      const code = (e as { code?: string }).code;
      console.error(`instance failed to start${code ? ` (${code})` : ''}: ${(e as Error).message}`);
      server.close();
      await telemetry.shutdown();
      process.exit(1);
    },
  );
}

let standby: Standby | undefined;
if (config.standby) {
  // Until assigned: a standby whose provider is gone has no one to serve.
  const unwatch = watchParent(endWithParent);
  const assign = (args: string[]): AssignResult => {
    if (instance) return { ok: false, code: 'already_assigned', message: 'this standby has a model' };
    if (!standby) return { ok: false, code: 'not_primed', message: 'still priming; retry' };
    let c: InstanceConfig;
    try {
      c = parseInstanceArgs(args);
    } catch (e) {
      return { ok: false, code: 'invalid_assignment', message: (e as Error).message };
    }
    if (c.standby) return { ok: false, code: 'invalid_assignment', message: 'no --standby in an assignment' };
    unwatch(); // from now on the assignment says (--exit-with-parent)
    load(become(c, standby));
    return { ok: true };
  };
  app = createStandbyApp(() => standby !== undefined, assign);
} else {
  become(config);
}

const server = serve(
  // Through a variable: a standby's API gives way to its instance's on assignment. The Node bindings
  // (env.incoming) go along: a refused body's lingering close needs the request's socket.
  { fetch: (req, env) => app.fetch(req, env), hostname: config.host, port: config.port },
  (info) =>
    console.log(
      `instance listening on ${config.host}:${info.port}, ${config.standby ? 'standing by' : `loading ${config.model}`}`,
    ),
);

if (config.standby) {
  standby = await primeStandby(config.engine.kvCacheBytes ?? 64 * 2 ** 20);
  console.log(`standby primed in ${standby.primeMs.toFixed(0)} ms`);
} else {
  load(instance!);
}
