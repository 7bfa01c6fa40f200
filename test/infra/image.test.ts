/**
 * infra/docker/Dockerfile against the code: multi-stage, non-root, Node's major from package.json, the
 * lockfile and .npmrc in every npm ci, the ports the environment schemas default to, a health check that
 * probes a real GET route on the right port for each of the three commands, and entry points that the
 * build compiles. Also: .dockerignore keeps everything the Dockerfile copies.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { GATEWAY_ENVIRONMENT } from '../../gateway/config/gateway-environment.ts';
import { CONTROLLER_ENVIRONMENT } from '../../warmpool/config/controller-environment.ts';
import { runtimePod } from '../../warmpool/providers/kubernetes/pod-spec.ts';
import { type Component, controllerComponent, gatewayComponent, hasGetRoute } from './components.ts';
import { copyArgs, execForm, ignoredBy, parseDockerfile, type Stage } from './dockerfile.ts';
import { container, containerEnv, envValue } from './kubernetes.ts';
import { loadModule, type TerraformModule } from './terraform.ts';

const DOCKERFILE = 'infra/docker/Dockerfile';
const stages = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const final = stages.at(-1)!;
const dockerignore = readFileSync('.dockerignore', 'utf8');
const all = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);
const one = (s: Stage, keyword: string) => {
  const found = all(s, keyword);
  assert.equal(found.length, 1, `one ${keyword} in stage ${s.name ?? s.from}`);
  return found[0]!.args;
};

// The health check's own logic, imported as the image runs it.
interface HealthCheck {
  DEFAULT_PORTS: Record<'gateway' | 'controller' | 'runtime', number>;
  LIVE_PATH: string;
  componentOf(argv: string[]): string;
  liveUrl(argv: string[], env: Record<string, string | undefined>): string;
}
const healthcheck = (await import(pathToFileURL('infra/docker/healthcheck.mjs').href)) as HealthCheck;

/** The runtime pod the controller makes: its command line is the third command of the image. */
const runtimeArgv = (() => {
  const pod = runtimePod(
    {
      name: 'demo',
      kind: 'generative',
      model: { path: 'runtime/models/demo' },
      scaling: { minInstances: 0, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
    },
    'demo-1',
    { namespace: 'warmgate', image: 'warmgate:test' },
  );
  const c = pod.spec!.containers[0]!;
  return { argv: [...c.command!, ...c.args!], port: c.ports![0]!.containerPort, pod };
})();

let components: Component[];
let module: TerraformModule;
before(async () => {
  components = [await gatewayComponent(), await controllerComponent()];
  module = await loadModule('infra/modules/warmgate', { image: 'registry.example/warmgate:0.1.0' });
});
after(async () => {
  for (const c of components) await c.close();
});

describe('the image definition', () => {
  it('is multi-stage: the final stage copies built output from earlier stages and runs no npm', () => {
    assert.ok(stages.length >= 2, 'several FROM stages');
    const copied = all(final, 'COPY').map((i) => copyArgs(i.args));
    const fromStages = copied.filter((c) => c.from !== undefined);
    assert.ok(
      fromStages.some((c) => c.sources.some((s) => s.endsWith('/dist'))),
      'dist comes from a build stage',
    );
    assert.ok(
      fromStages.some((c) => c.sources.some((s) => s.endsWith('/node_modules'))),
      'node_modules too',
    );
    for (const c of fromStages)
      assert.ok(
        stages.some((s) => s.name === c.from),
        `stage ${c.from} exists`,
      );
    assert.ok(!all(final, 'RUN').some((r) => /\bnpm\b/.test(r.args)), 'no npm in the final stage');
  });

  it("runs Node's major from package.json engines, slim, in every stage", () => {
    const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } })
      .engines.node;
    const major = /(\d+)/.exec(engines)![1];
    for (const s of stages) {
      assert.match(
        s.from,
        new RegExp(`^node:${major}(\\.[\\d.]+)?-\\w+-slim$`),
        `stage ${s.name ?? ''}: ${s.from}`,
      );
    }
  });

  it('runs as a numeric non-root user (so runAsNonRoot can check it), the one the module runs as', () => {
    const user = one(final, 'USER');
    const [uid] = user.split(':');
    assert.match(uid!, /^\d+$/);
    assert.notEqual(Number(uid), 0);
    for (const d of ['gateway', 'controller']) {
      const res = module.resources['kubernetes_deployment_v1']![d]!;
      const spec = (res['spec'] as never[])[0]!['template'][0]['spec'][0] as Record<string, unknown[]>;
      const sc = spec['security_context']![0] as Record<string, unknown>;
      assert.equal(sc['run_as_user'], Number(uid), `${d} runs as ${uid}`);
    }
  });

  it('installs from the lockfile with .npmrc (onnxruntime-node-install=skip) copied first', () => {
    assert.match(readFileSync('.npmrc', 'utf8'), /onnxruntime-node-install=skip/);
    for (const s of stages) {
      const i = s.instructions.findIndex((x) => x.keyword === 'RUN' && /\bnpm ci\b/.test(x.args));
      if (i < 0) continue;
      const before = s.instructions.slice(0, i).filter((x) => x.keyword === 'COPY');
      const sources = before.flatMap((x) => copyArgs(x.args).sources);
      for (const f of ['package.json', 'package-lock.json', '.npmrc']) {
        assert.ok(sources.includes(f), `stage ${s.name}: ${f} is copied before npm ci`);
      }
    }
    const prod = stages.find((s) => all(s, 'RUN').some((r) => /npm ci\b.*--omit=dev/.test(r.args)));
    assert.ok(prod, 'a stage installs production dependencies only');
    const nm = all(final, 'COPY')
      .map((i) => copyArgs(i.args))
      .find((c) => c.sources.some((x) => x.endsWith('/node_modules')));
    assert.equal(nm?.from, prod.name, 'the final node_modules is the production one');
  });

  it('builds with npm run build, whose tsconfig it copies', () => {
    const build = stages.find((s) => all(s, 'RUN').some((r) => /npm run build\b/.test(r.args)));
    assert.ok(build, 'a stage runs npm run build');
    const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
      .scripts['build']!;
    const tsconfig = /-p\s+(\S+)/.exec(script)![1]!;
    const copied = all(build, 'COPY').flatMap((i) => copyArgs(i.args).sources);
    assert.ok(copied.includes(tsconfig), `${tsconfig} is copied`);
    const include = (JSON.parse(readFileSync(tsconfig, 'utf8')) as { include: string[] }).include;
    for (const dir of include) assert.ok(copied.includes(dir), `${dir} (compiled by ${tsconfig}) is copied`);
  });

  it('exposes the ports the gateway and the controller listen on by default', () => {
    const exposed = all(final, 'EXPOSE').flatMap((e) =>
      e.args.split(/\s+/).map((p) => Number(p.split('/')[0])),
    );
    for (const schema of [GATEWAY_ENVIRONMENT, CONTROLLER_ENVIRONMENT]) {
      assert.ok(exposed.includes(schema.variables.PORT.default), `${schema.component} PORT`);
    }
    assert.ok(exposed.includes(runtimeArgv.port), 'the runtime port');
  });

  it('starts the gateway by default; the three commands have compiled entry points', () => {
    const cmd = execForm(one(final, 'CMD'));
    assert.deepEqual(cmd.slice(0, 2), ['node', 'dist/gateway/main.js']);
    const commands = [cmd, container(module, 'controller')['command'] as string[], runtimeArgv.argv];
    for (const c of commands) {
      const script = c.find((a) => a.endsWith('.js'))!;
      const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      assert.ok(existsSync(source), `${script}: ${source} exists`);
    }
    // The commands are relative: the WORKDIR must hold dist/.
    const workdir = one(final, 'WORKDIR');
    const dist = all(final, 'COPY')
      .map((i) => copyArgs(i.args))
      .find((c) => c.sources.some((s) => s.endsWith('/dist')))!;
    assert.ok(dist.dest === 'dist' || dist.dest === `${workdir}/dist`, `dist lands in ${workdir}/dist`);
  });

  it('holds the demo models at the path deployments name them by', () => {
    const copied = all(final, 'COPY')
      .map((i) => copyArgs(i.args))
      .filter((c) => c.from === undefined);
    assert.ok(copied.some((c) => c.sources.includes('runtime/models') && c.dest === 'runtime/models'));
  });
});

describe('the health check', () => {
  it('is the copied healthcheck.mjs, run with node (no curl in slim images)', () => {
    const hc = one(final, 'HEALTHCHECK');
    const cmd = execForm(hc);
    assert.equal(cmd[0], 'node');
    const copied = all(final, 'COPY')
      .map((i) => copyArgs(i.args))
      .find((c) => c.sources.includes('infra/docker/healthcheck.mjs'));
    assert.ok(copied, 'healthcheck.mjs is copied');
    assert.ok(cmd.includes(copied.dest.replace(/^\.\//, '')), `it runs ${copied.dest}`);
  });

  it("probes each command's real port and a GET route of its app", () => {
    const gateway = components.find((c) => c.name === 'gateway')!;
    const controller = components.find((c) => c.name === 'controller')!;
    assert.equal(healthcheck.DEFAULT_PORTS.gateway, GATEWAY_ENVIRONMENT.variables.PORT.default);
    assert.equal(healthcheck.DEFAULT_PORTS.controller, CONTROLLER_ENVIRONMENT.variables.PORT.default);
    assert.ok(hasGetRoute(gateway.app, healthcheck.LIVE_PATH), 'gateway route');
    assert.ok(hasGetRoute(controller.app, healthcheck.LIVE_PATH), 'controller route');
    // The runtime pod's own liveness probe is the same path.
    const runtimeLive = runtimeArgv.pod.spec!.containers[0]!.livenessProbe!.httpGet!.path;
    assert.equal(runtimeLive, healthcheck.LIVE_PATH);

    const cmd = execForm(one(final, 'CMD'));
    assert.equal(healthcheck.liveUrl(cmd, {}), `http://127.0.0.1:8080${healthcheck.LIVE_PATH}`);
    const controllerCmd = container(module, 'controller')['command'] as string[];
    assert.equal(healthcheck.componentOf(controllerCmd), 'controller');
    assert.equal(
      healthcheck.liveUrl(controllerCmd, {}),
      `http://127.0.0.1:${CONTROLLER_ENVIRONMENT.variables.PORT.default}/live`,
    );
    const port = envValue(module, containerEnv(module, container(module, 'controller')), 'PORT') as string;
    assert.equal(healthcheck.liveUrl(controllerCmd, { PORT: port }), `http://127.0.0.1:${port}/live`);
    assert.equal(healthcheck.componentOf(runtimeArgv.argv), 'runtime');
    assert.equal(
      healthcheck.liveUrl(runtimeArgv.argv, { PORT: '1' }),
      `http://127.0.0.1:${runtimeArgv.port}/live`,
    );
  });

  it('answers 0 against a live app and 1 against nothing', async () => {
    const gateway = components.find((c) => c.name === 'gateway')!;
    const server = serve({ fetch: gateway.app.fetch, hostname: '127.0.0.1', port: 0 });
    try {
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const { port } = server.address() as { port: number };
      // Asynchronously: the server answering it runs in this process.
      const run = (p: number) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['infra/docker/healthcheck.mjs'], {
            env: { ...process.env, PORT: String(p) },
            stdio: 'ignore',
          });
          child.once('exit', (code) => resolve(code));
        });
      assert.equal(await run(port), 0);
      server.close();
      await new Promise((r) => server.once('close', r));
      assert.equal(await run(port), 1);
    } finally {
      server.close();
    }
  });
});

describe('.dockerignore', () => {
  it('keeps every file the Dockerfile copies from the context, and drops the heavy rest', () => {
    const sources = stages.flatMap((s) =>
      all(s, 'COPY')
        .map((i) => copyArgs(i.args))
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.sources),
    );
    for (const src of sources) {
      assert.ok(existsSync(src), `${src} exists`);
      const files = statSync(src).isDirectory() ? walk(src) : [src];
      const kept = files.filter((f) => !ignoredBy(dockerignore, f));
      assert.ok(kept.length > 0, `${src}: something is left in the context`);
    }
    // What the image needs at run time is never ignored: every model file its manifest names.
    for (const dir of readdirSync('runtime/models')) {
      const manifest = JSON.parse(readFileSync(join('runtime/models', dir, 'model.json'), 'utf8')) as {
        files?: Record<string, { path: string }>;
      };
      for (const f of Object.values(manifest.files ?? {})) {
        assert.ok(!ignoredBy(dockerignore, join('runtime/models', dir, f.path)), `${dir}/${f.path} is kept`);
      }
    }
    for (const f of [
      '.npmrc',
      'package-lock.json',
      'gateway/main.ts',
      'warmpool/main.ts',
      'runtime/instance/main.ts',
    ]) {
      assert.ok(!ignoredBy(dockerignore, f), `${f} is kept`);
    }
    for (const f of [
      'node_modules/x/index.js',
      'dist/gateway/main.js',
      '.git/HEAD',
      'runtime/models/demo/checkpoint.pt',
    ]) {
      assert.ok(ignoredBy(dockerignore, f), `${f} is left out`);
    }
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}
