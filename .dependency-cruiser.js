// Import rules, checked by `npm run lint` (depcruise gateway runtime warmpool). Type-only imports count.
//
// Layers of the platform, lowest first: runtime <- gateway <- warmpool. A layer imports only itself and
// the layers below; what two layers share (wire formats, protocols) lives in the lower one.
//
// Inside gateway/, lowest first (a folder imports only its own layer and the ones below):
//   1. errors, config, redis                     foundation: the error catalog, environment parsing, Redis connections
//   2. telemetry, shared-instance-registry,      state and wire of its own: metrics, the instances the
//      demand-board, deployments,                controller publishes, the demand replicas announce,
//      request-history                           deployment specs, the request history store
//   3. http, instances                           request plumbing (body, headers, span, client signal);
//                                                the gateway's own table of instances (polled)
//   4. routing, admission, upstream, auth,       what acts on one request: pick, queue, call, authorize;
//      model-text                                the model's tokenizer and chat template, and prompts in ids
//      rollouts                                  versions: traffic split, rollout steps, canary verdict
//   5. openai, kserve, functions (not routes.ts) request parsing and response shapes of each API
//   6. dispatch                                  forward with retry, generation session, tensor call, function call
//   6b. pipelines                                a pipeline's steps, each a function call
//   7. */routes.ts, admin/                       route modules
//   8. server                                    the composition root: app assembly, start, replica
//   9. main.ts, bench/                           processes
const GATEWAY_LAYERS = [
  ['^gateway/(errors|config|redis)/'],
  ['^gateway/(telemetry|shared-instance-registry|demand-board|deployments|request-history)/'],
  ['^gateway/(http|instances)/'],
  ['^gateway/(routing|admission|upstream|auth|model-text|rollouts)/'],
  ['^gateway/(openai|kserve|functions)/(?!routes\\.ts$)'],
  ['^gateway/dispatch/'],
  ['^gateway/pipelines/'],
  ['^gateway/(openai|kserve|functions)/routes\\.ts$', '^gateway/admin/', '^gateway/status-page/'],
  ['^gateway/server/'],
  ['^gateway/main\\.ts$', '^gateway/bench/'],
];

// What each process starts from. They wire the layers together, and nothing but other roots, benches,
// the soak harness (warmpool/soak/ starts the platform it loads) and tests imports them.
const COMPOSITION_ROOTS = [
  '^gateway/main\\.ts$',
  '^gateway/server/',
  '^warmpool/main\\.ts$',
  '^warmpool/platform\\.ts$',
  '^warmpool/demo\\.ts$',
  '^warmpool/cli/main\\.ts$',
  '^warmpool/sim/main\\.ts$',
  '^warmpool/soak/main\\.ts$',
  '^runtime/instance/main\\.ts$',
  '^runtime/demo\\.ts$',
];

const gatewayLayerRules = GATEWAY_LAYERS.slice(0, -1).map((layer, i) => ({
  name: `gateway-layer-${i + 1}-imports-only-below`,
  comment: 'gateway/ folders import only their own layer and the ones below (order at the top of this file)',
  severity: 'error',
  from: { path: layer },
  to: { path: GATEWAY_LAYERS.slice(i + 1).flat() },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'runtime-imports-no-upper-layer',
      comment: 'runtime/ is the lowest layer: it imports neither gateway/ nor warmpool/',
      severity: 'error',
      from: { path: '^runtime/' },
      to: { path: '^(gateway|warmpool)/' },
    },
    {
      name: 'gateway-imports-no-warmpool',
      comment: 'gateway/ sits below warmpool/: what both need lives in gateway/',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: '^warmpool/' },
    },
    {
      name: 'gateway-reaches-engine-only-through-api',
      comment:
        'runtime/engine/index.ts loads ONNX Runtime; the gateway process must not (test/gateway/no-onnxruntime.test.ts)',
      severity: 'error',
      from: { path: '^gateway/', pathNot: '^gateway/bench/' },
      to: { path: '^runtime/engine/', pathNot: '^runtime/engine/api\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'a cycle makes two modules one: neither can be understood, tested or moved alone',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'composition-roots-imported-only-by-roots',
      comment: 'a composition root wires the layers; library code never imports it back',
      severity: 'error',
      from: { pathNot: [...COMPOSITION_ROOTS, '^test/', '/bench/', '^warmpool/soak/'] },
      to: { path: COMPOSITION_ROOTS },
    },
    {
      name: 'gateway-module-has-a-layer',
      comment: 'a new gateway/ folder takes its place in GATEWAY_LAYERS, so that its imports are checked',
      severity: 'error',
      from: { path: '^gateway/', pathNot: GATEWAY_LAYERS.flat() },
      to: {},
    },
    ...gatewayLayerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '^runtime/models/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
