/**
 * infra/modules/warmgate against the code: every environment variable and ConfigMap key is one of the
 * component's schema (secret ones from a Secret), ports agree from PORT to probes to scrape annotations,
 * probe and metrics paths are GET routes of the real apps, commands exist, and the controller's Role
 * covers every pod call of the Kubernetes provider.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type Component,
  controllerComponent,
  gatewayComponent,
  getRoutes,
  hasGetRoute,
} from './components.ts';
import { container, containerEnv, envValue, podSpec, podTemplate, portNumber } from './kubernetes.ts';
import {
  allowedValues,
  block,
  blocks,
  evaluate,
  loadModule,
  references,
  resource,
  type TerraformModule,
  UNRESOLVED,
} from './terraform.ts';

const MODULE = 'infra/modules/warmgate';

let m: TerraformModule;
let components: Component[];

before(async () => {
  m = await loadModule(MODULE, { image: 'registry.example/warmgate:0.1.0' });
  components = [await gatewayComponent(), await controllerComponent()];
});
after(async () => {
  for (const c of components) await c.close();
});

describe('infra/modules/warmgate parses', () => {
  it('every .tf file parses and the module has the resources the issue asks for', () => {
    assert.ok(m.files.length >= 5, `parsed ${m.files.join(', ')}`);
    for (const [type, name] of [
      ['kubernetes_deployment_v1', 'gateway'],
      ['kubernetes_service_v1', 'gateway'],
      ['kubernetes_pod_disruption_budget_v1', 'gateway'],
      ['kubernetes_horizontal_pod_autoscaler_v2', 'gateway'],
      ['kubernetes_deployment_v1', 'controller'],
      ['kubernetes_role_v1', 'controller'],
      ['kubernetes_role_binding_v1', 'controller'],
      ['kubernetes_service_account_v1', 'controller'],
      ['kubernetes_stateful_set_v1', 'redis'],
      ['helm_release', 'otel_collector'],
    ] as const) {
      assert.ok(m.resources[type]?.[name], `${type}.${name}`);
    }
  });

  it('every variable is typed and described; outputs name the gateway URL and the OTLP endpoint', () => {
    for (const [name, v] of Object.entries(m.variables)) {
      assert.ok(v['type'], `variable ${name} has no type`);
      assert.ok(String(v['description'] ?? '').length > 10, `variable ${name} has no description`);
    }
    assert.ok(m.outputs['gateway_url'], 'output gateway_url');
    assert.equal(m.outputs['otlp_endpoint']?.['value'], '${local.otlp_endpoint}');
  });
});

for (const name of ['gateway', 'controller'] as const) {
  describe(`the ${name}`, () => {
    const component = () => components.find((c) => c.name === name)!;
    const c = () => container(m, component().deployment);
    const env = () => containerEnv(m, c());

    it('sets only variables of its environment schema, each once, and every required one', () => {
      const { schema } = component();
      const names = env().map((e) => e.name);
      for (const n of names) {
        assert.ok(
          n in schema.variables,
          `${n} is not a variable of ${schema.component}'s environment schema`,
        );
      }
      assert.deepEqual(
        names.filter((n, i) => names.indexOf(n) !== i),
        [],
        'a variable is set twice (the later one wins silently)',
      );
      for (const r of schema.required ?? []) assert.ok(names.includes(r), `required ${r} is not set`);
    });

    it('takes secret variables from a Secret, never from a literal or a ConfigMap', () => {
      const { schema } = component();
      for (const e of env()) {
        const secret = schema.variables[e.name]?.secret === true;
        if (secret) {
          assert.equal(e.source.kind, 'secretKey', `${e.name} is secret: it must come from a secretKeyRef`);
        }
        if (e.source.kind === 'secretKey') {
          const s = resource(m, 'kubernetes_secret_v1', e.source.secret);
          const data = s['data'];
          if (data && typeof data === 'object') {
            assert.ok(e.source.key in data, `secret ${e.source.secret} has no key ${e.source.key}`);
          }
        }
      }
    });

    it('gets every credential its schema declares (a process without one runs degraded)', () => {
      const { schema } = component();
      const names = env().map((e) => e.name);
      for (const [n, v] of Object.entries(schema.variables)) {
        if (v.secret) assert.ok(names.includes(n), `secret ${n} is declared by the schema but not set`);
      }
    });

    it('gives every value the type, enum and minimum its schema says (module defaults)', () => {
      const { schema } = component();
      for (const e of env()) {
        if (e.source.kind !== 'literal' && e.source.kind !== 'configMap') continue;
        const spec = schema.variables[e.name]!;
        const v = evaluate(m, e.source.value);
        if (v === null && e.source.kind === 'configMap') continue; // dropped from the ConfigMap when null
        assert.notEqual(v, UNRESOLVED, `${e.name} = ${String(e.source.value)} cannot be evaluated`);
        const s = String(v);
        if (spec.type === 'integer') {
          assert.match(s, /^\d+$/, `${e.name} must be an integer, is ${s}`);
          if (spec.minimum !== undefined)
            assert.ok(Number(s) >= spec.minimum, `${e.name} >= ${spec.minimum}`);
        }
        if (spec.type === 'boolean') assert.match(s, /^(true|false)$/, `${e.name} must be true or false`);
        if (spec.json) {
          const parsed: unknown = JSON.parse(s);
          assert.equal(Array.isArray(parsed), spec.json === 'array', `${e.name} must be a JSON ${spec.json}`);
        }
        if (spec.enum) {
          assert.ok(spec.enum.includes(s), `${e.name} = ${s} is not one of ${spec.enum.join(', ')}`);
          // A module variable that feeds it must allow exactly the schema's values.
          for (const ref of references(e.source.value).vars) {
            assert.deepEqual(
              allowedValues(m, ref)?.slice().sort(),
              [...spec.enum].sort(),
              `var.${ref} feeds ${e.name}: its validation must allow exactly ${spec.enum.join(', ')}`,
            );
          }
        }
      }
    });

    it('listens on PORT, and its containerPort, probes, scrape annotations and Service agree', () => {
      const { schema } = component();
      const listens = Number(envValue(m, env(), 'PORT') ?? schema.variables['PORT']?.default);
      assert.ok(Number.isInteger(listens), 'PORT resolves to a number');
      const http = blocks(c(), 'port').find((p) => p['name'] === 'http');
      assert.ok(http, 'a container port named http');
      assert.equal(portNumber(m, c(), 'http'), listens, 'containerPort http = PORT');
      for (const probe of ['readiness_probe', 'liveness_probe']) {
        const get = block(block(c(), probe), 'http_get');
        assert.equal(portNumber(m, c(), get['port']), listens, `${probe} port`);
      }
      const annotations = podTemplateAnnotations(name);
      assert.equal(annotations['prometheus.io/scrape'], 'true');
      assert.equal(Number(annotations['prometheus.io/port']), listens, 'prometheus.io/port');
      const service = resource(m, 'kubernetes_service_v1', name);
      const target = block(block(service, 'spec'), 'port')['target_port'];
      assert.equal(portNumber(m, c(), target), listens, 'Service targetPort');
    });

    it('probes and scrapes GET routes the app really serves', async () => {
      const { app } = component();
      const paths = [
        ['readiness_probe', block(block(c(), 'readiness_probe'), 'http_get')['path']],
        ['liveness_probe', block(block(c(), 'liveness_probe'), 'http_get')['path']],
        ['prometheus.io/path', podTemplateAnnotations(name)['prometheus.io/path']],
      ] as const;
      for (const [what, path] of paths) {
        assert.equal(typeof path, 'string', what);
        assert.ok(
          hasGetRoute(app, path as string),
          `${what} ${String(path)} is not a GET route of the ${name} (${getRoutes(app).join(' ')})`,
        );
        const res = await app.request(path as string);
        assert.equal(res.status, 200, `GET ${String(path)} answers ${res.status}`);
        await res.body?.cancel();
      }
      assert.notEqual(paths[0][1], paths[1][1], 'readiness and liveness are different questions');
    });

    it('runs a command of the image whose entry point is compiled by npm run build', () => {
      const command = c()['command'] as string[];
      assert.equal(command[0], 'node');
      assert.ok(existsSync(sourceOf(command[1]!)), `${command[1]} has no source ${sourceOf(command[1]!)}`);
    });

    it('names itself after its pod and exports traces to the collector', () => {
      const id = env().find((e) => e.name === 'WARMGATE_REPLICA_ID');
      assert.deepEqual(id?.source, { kind: 'field', fieldPath: 'metadata.name' });
      assert.equal(
        envValue(m, env(), 'OTEL_EXPORTER_OTLP_ENDPOINT'),
        evaluate(m, '${local.otlp_endpoint}'),
        'OTEL_EXPORTER_OTLP_ENDPOINT is the module output otlp_endpoint',
      );
    });

    it('has a PodDisruptionBudget selecting its pods', () => {
      const pdb = resource(m, 'kubernetes_pod_disruption_budget_v1', name);
      const selector = block(block(pdb, 'spec'), 'selector')['match_labels'];
      const deploymentSelector = block(
        block(resource(m, 'kubernetes_deployment_v1', name), 'spec'),
        'selector',
      );
      assert.deepEqual(evaluate(m, selector), evaluate(m, deploymentSelector['match_labels']));
    });
  });
}

function podTemplateAnnotations(deployment: string): Record<string, string> {
  const raw = block(podTemplate(m, deployment), 'metadata')['annotations'];
  // merge(local.<component>_scrape, {checksums}): the scrape annotations are the local's.
  const scrape = references(raw).locals.find((l) => l.endsWith('_scrape'));
  assert.ok(scrape, `the ${deployment} pod annotations merge a local.*_scrape map`);
  return evaluate(m, `\${local.${scrape}}`) as Record<string, string>;
}

/** dist/x/main.js → x/main.ts, checked to be under what tsconfig.build.json compiles. */
function sourceOf(distPath: string): string {
  const src = distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts');
  const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
  assert.ok(
    build.include.some((dir) => src.startsWith(`${dir}/`)),
    `${src} is outside tsconfig.build.json's include`,
  );
  return src;
}

describe('the gateway', () => {
  it('scales on CPU through a HorizontalPodAutoscaler of its Deployment, which requests CPU', () => {
    const hpa = block(resource(m, 'kubernetes_horizontal_pod_autoscaler_v2', 'gateway'), 'spec');
    assert.equal(
      block(hpa, 'scale_target_ref')['name'],
      '${kubernetes_deployment_v1.gateway.metadata[0].name}',
    );
    assert.equal(block(hpa, 'scale_target_ref')['kind'], 'Deployment');
    assert.equal(block(block(hpa, 'metric'), 'resource')['name'], 'cpu');
    // Utilization is relative to the container's CPU request: the requests must come with a cpu.
    const resources = block(container(m, 'gateway'), 'resources');
    assert.equal(resources['requests'], '${var.gateway_resources.requests}');
    const type = String(m.variables['gateway_resources']?.['type']);
    assert.match(type, /requests\s*=\s*optional\(map\(string\),\s*\{\s*cpu\s*=/, 'a default cpu request');
    const validations = blocks(m.variables['gateway_resources'], 'validation').map((v) =>
      String(v['condition']),
    );
    assert.ok(
      validations.some((c) => /contains\(keys\(var\.gateway_resources\.requests\),\s*"cpu"\)/.test(c)),
      'a validation requires requests.cpu',
    );
  });

  it("is given longer to stop than its preStop pause plus the gateway's own shutdown grace", () => {
    const grace = Number(podSpec(m, 'gateway')['termination_grace_period_seconds']);
    const schema = components.find((x) => x.name === 'gateway')!.schema;
    const env = containerEnv(m, container(m, 'gateway'));
    const drainMs = Number(
      envValue(m, env, 'WARMGATE_SHUTDOWN_GRACE_MS') ??
        schema.variables['WARMGATE_SHUTDOWN_GRACE_MS']?.default ??
        0,
    );
    const preStop = JSON.stringify(block(container(m, 'gateway'), 'lifecycle'));
    const pauseMs = Number(/setTimeout\([^,]+,\s*(\d+)\)/.exec(preStop)?.[1] ?? 0);
    assert.ok(
      grace * 1000 > pauseMs + drainMs,
      `terminationGracePeriodSeconds ${grace} <= ${(pauseMs + drainMs) / 1000}`,
    );
  });
});

describe('the controller', () => {
  const source = () => readFileSync('warmpool/providers/kubernetes/kubernetes-provider.ts', 'utf8');

  it('has a Role in the runtime namespace that covers every pod call of the Kubernetes provider', () => {
    const calls = [
      ...new Set(
        [...source().matchAll(/\.(\w+)NamespacedPod(\w*)\(/g)].map((x) => `${x[1]}NamespacedPod${x[2]}`),
      ),
    ];
    assert.ok(calls.length >= 3, `found the provider's pod calls: ${calls.join(', ')}`);
    const rules = blocks(resource(m, 'kubernetes_role_v1', 'controller'), 'rule');
    for (const call of calls) {
      const [, op, sub] = /^(\w+?)NamespacedPod(\w*)$/.exec(call)!;
      const verb = VERBS[op!];
      assert.ok(verb, `no RBAC verb known for ${call}`);
      const res = sub ? `pods/${sub.toLowerCase()}` : 'pods';
      assert.ok(
        rules.some(
          (r) =>
            (r['api_groups'] as string[]).includes('') &&
            (r['resources'] as string[]).includes(res) &&
            (r['verbs'] as string[]).includes(verb),
        ),
        `${call} needs ${verb} on ${res}`,
      );
    }
    const role = block(resource(m, 'kubernetes_role_v1', 'controller'), 'metadata');
    const env = containerEnv(m, container(m, 'controller'));
    assert.equal(
      evaluate(m, role['namespace']),
      envValue(m, env, 'WARMGATE_NAMESPACE'),
      'Role namespace = WARMGATE_NAMESPACE',
    );
  });

  it('calls no Kubernetes API but pods anywhere in warmpool/ (else the Role above must grow)', () => {
    const other: string[] = [];
    for (const file of tsFiles('warmpool')) {
      const text = readFileSync(file, 'utf8');
      for (const x of text.matchAll(
        /\.(create|read|list|delete|replace|patch|deleteCollection|watch)(Namespaced|Cluster)?(\w*)\(/g,
      )) {
        const kind = x[3] ?? '';
        if (x[2] === 'Namespaced' && kind.startsWith('Pod')) continue;
        if (x[2] !== undefined) other.push(`${file}: ${x[0]}`);
      }
      for (const x of text.matchAll(/makeApiClient\((\w+)\)/g))
        if (x[1] !== 'CoreV1Api') other.push(`${file}: ${x[0]}`);
    }
    assert.deepEqual(other, []);
  });

  it('runs as the service account the Role is bound to', () => {
    const binding = resource(m, 'kubernetes_role_binding_v1', 'controller');
    assert.equal(block(binding, 'role_ref')['name'], '${kubernetes_role_v1.controller.metadata[0].name}');
    assert.equal(
      block(binding, 'subject')['name'],
      '${kubernetes_service_account_v1.controller.metadata[0].name}',
    );
    assert.equal(
      podSpec(m, 'controller')['service_account_name'],
      '${kubernetes_service_account_v1.controller.metadata[0].name}',
    );
    assert.equal(
      evaluate(m, block(binding, 'metadata')['namespace']),
      evaluate(m, block(resource(m, 'kubernetes_role_v1', 'controller'), 'metadata')['namespace']),
    );
  });

  it('makes runtime pods through the Kubernetes provider, with the GPU defaults of the module variables', () => {
    const env = containerEnv(m, container(m, 'controller'));
    assert.equal(envValue(m, env, 'WARMGATE_PROVIDER'), 'kubernetes');
    const gpu = { runtime_gpus: 2, runtime_node_selector: { 'nvidia.com/gpu.present': 'true' } };
    const at = (name: string, vars: Record<string, unknown>) => {
      const e = env.find((x) => x.name === name)!;
      assert.equal(e.source.kind, 'configMap', `${name} comes from the ConfigMap`);
      return evaluate(m, (e.source as { value: unknown }).value, vars);
    };
    assert.equal(at('WARMGATE_RUNTIME_GPUS', gpu), '2');
    assert.equal(at('WARMGATE_RUNTIME_NODE_SELECTOR', gpu), JSON.stringify(gpu.runtime_node_selector));
    // Tolerations go through a local that renames fields to Kubernetes' camelCase.
    assert.match(String(m.locals['runtime_tolerations']), /var\.runtime_tolerations/);
    assert.match(String(m.locals['runtime_tolerations']), /tolerationSeconds\s*=\s*t\.toleration_seconds/);
    const tolerations = env.find((x) => x.name === 'WARMGATE_RUNTIME_TOLERATIONS')?.source;
    assert.equal(tolerations?.kind, 'configMap');
    assert.equal((tolerations as { value: unknown }).value, '${jsonencode(local.runtime_tolerations)}');
  });
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const VERBS: Record<string, string> = {
  create: 'create',
  read: 'get',
  list: 'list',
  delete: 'delete',
  deleteCollection: 'deletecollection',
  replace: 'update',
  patch: 'patch',
};

describe('Redis', () => {
  const redis = () =>
    block(
      block(block(block(resource(m, 'kubernetes_stateful_set_v1', 'redis'), 'spec'), 'template'), 'spec'),
      'container',
    );

  it('persists with an append-only file on a claim, and requires the password from the Secret', () => {
    const args = (redis()['args'] as string[]).join(' ');
    assert.match(args, /--appendonly yes/);
    assert.match(args, /--requirepass \$\(REDIS_PASSWORD\)/);
    const dir = /--dir (\S+)/.exec(args)?.[1];
    const claim = block(
      block(resource(m, 'kubernetes_stateful_set_v1', 'redis'), 'spec'),
      'volume_claim_template',
    );
    const mount = blocks(redis(), 'volume_mount').find((v) => v['name'] === block(claim, 'metadata')['name']);
    assert.equal(mount?.['mount_path'], dir, 'the claim is mounted where Redis writes');
    const env = containerEnv(m, redis());
    assert.equal(env.find((e) => e.name === 'REDIS_PASSWORD')?.source.kind, 'secretKey');
  });

  it('is what REDIS_URL points at: its Service, its port, its password', () => {
    const url = String(m.locals['redis_url']);
    assert.match(url, /local\.redis_password/);
    assert.match(String(m.locals['redis_host']), /kubernetes_service_v1\.redis/);
    const port = block(block(resource(m, 'kubernetes_service_v1', 'redis'), 'spec'), 'port');
    assert.equal(evaluate(m, port['port']), evaluate(m, '${local.redis_port}'));
    assert.match(url, /:\$\{local\.redis_port\}/);
  });
});

describe('the OpenTelemetry Collector', () => {
  it('is the chart whose Service the OTLP endpoint names, receiving OTLP/HTTP on that port', () => {
    const release = resource(m, 'helm_release', 'otel_collector');
    assert.equal(release['chart'], 'opentelemetry-collector');
    assert.match(String(release['repository']), /open-telemetry\.github\.io\/opentelemetry-helm-charts/);
    const values = JSON.stringify(release['values']);
    assert.match(values, /fullnameOverride\s*=\s*local\.otel_collector_name/);
    const endpoint = new URL(String(evaluate(m, '${local.otlp_endpoint}')));
    assert.equal(endpoint.hostname.split('.')[0], evaluate(m, '${local.otel_collector_name}'));
    assert.equal(endpoint.port, '4318', 'OTLP/HTTP');
    assert.match(
      values,
      /http\s*=\s*\{\s*endpoint\s*=\s*\\"\$\$\{env:MY_POD_IP\}:\$\{local\.otlp_http_port\}/,
    );
    assert.equal(String(evaluate(m, '${local.otlp_http_port}')), endpoint.port);
  });
});

describe('ServiceMonitors', () => {
  it("scrape each component's Service port and a GET route of its app", () => {
    for (const c of components) {
      const sm = resource(m, 'kubernetes_manifest', `${c.name}_service_monitor`)['manifest'] as {
        spec: { endpoints: { port: string; path: string }[]; selector: { matchLabels: string } };
      };
      const ports = blocks(block(resource(m, 'kubernetes_service_v1', c.name), 'spec'), 'port').map(
        (p) => p['name'],
      );
      for (const e of sm.spec.endpoints) {
        assert.ok(ports.includes(e.port), `${c.name} ServiceMonitor port ${e.port} is a Service port`);
        assert.ok(hasGetRoute(c.app, e.path), `${c.name} ServiceMonitor path ${e.path}`);
      }
      const service = block(resource(m, 'kubernetes_service_v1', c.name), 'spec');
      assert.deepEqual(evaluate(m, sm.spec.selector.matchLabels), evaluate(m, service['selector']));
    }
  });
});
