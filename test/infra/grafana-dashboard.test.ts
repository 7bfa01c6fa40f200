/**
 * infra/dashboards/warmgate.json against the code: every PromQL expression in it parses (promtool check
 * rules) and names only metrics that a real gateway, runtime instance and controller expose on /metrics;
 * their /metrics text passes `promtool check metrics`; the Terraform module ships the dashboard to
 * Grafana's sidecar only when asked.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { exportedNames, metricNamesInPromql } from './promql-names.ts';
import { type Scraped, scrapeController, scrapeGatewayAndInstance } from './scraped-metrics.ts';
import { block, evaluate, loadModule, resource, type TerraformModule } from './terraform.ts';

const MODULE = 'infra/modules/warmgate';
const DASHBOARD = 'infra/dashboards/warmgate.json';

const promtool = spawnSync('promtool', ['--version']).status === 0;
const NO_PROMTOOL = promtool ? false : 'promtool not found (Debian package prometheus; .ci/run installs it)';

interface Target {
  readonly expr: string;
  readonly datasource?: { type?: string; uid?: string };
}
interface Panel {
  readonly title: string;
  readonly type: string;
  readonly datasource?: { type?: string; uid?: string };
  readonly targets?: Target[];
  readonly panels?: Panel[];
}
interface Dashboard {
  readonly schemaVersion: number;
  readonly uid: string;
  readonly panels: Panel[];
  readonly templating: { list: { name: string; type: string; query: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
/** The first argument of label_values(metric, label) in the template variables. */
const variableMetrics = dashboard.templating.list.flatMap((v) => {
  const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | null)?.query ?? '');
  const m = /^label_values\(\s*([a-zA-Z_:][\w:]*)\s*,/.exec(q);
  return m ? [{ variable: v.name, metric: m[1]! }] : [];
});

/** Grafana's variables as Prometheus would see them once Grafana has put values in. */
const asPrometheusSees = (expr: string) =>
  expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?(\w+)\}?/g, '.*');

let scraped: Scraped;
before(async () => {
  scraped = { ...(await scrapeGatewayAndInstance()), controller: await scrapeController() };
});

describe('the metric-name reader the checks below rely on', () => {
  it('finds the metric names of an expression and nothing else', () => {
    assert.deepEqual(
      metricNamesInPromql(
        'histogram_quantile(0.99, sum by (le, model) (rate(a_bucket{model=~"x|y",le!="b"}[5m]))) / on (model) group_left (c) sum without (d) (e_total offset 5m) > bool 0.5',
      ),
      ['a_bucket', 'e_total'],
    );
  });
  it('expands a histogram to the series it is exposed as', () => {
    const names = exportedNames('# TYPE h histogram\n# TYPE c_total counter\n# TYPE g gauge\n');
    assert.deepEqual([...names].sort(), ['c_total', 'g', 'h_bucket', 'h_count', 'h_sum']);
  });
});

describe(`${DASHBOARD}`, { timeout: 120_000 }, () => {
  it('is a Grafana dashboard whose every query goes to the Prometheus data source variable', () => {
    assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
    assert.equal(dashboard.uid, 'warmgate');
    const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
    assert.equal(ds?.query, 'prometheus', 'a datasource variable of type prometheus');
    const uses = `\${${ds!.name}}`;
    for (const p of panels) {
      assert.equal(p.datasource?.uid, uses, `panel ${p.title}`);
      assert.ok(p.targets?.length, `panel ${p.title} has no query`);
      for (const t of p.targets!) assert.equal(t.datasource?.uid ?? uses, uses, `panel ${p.title}`);
    }
  });

  it('has a panel over each metric the issue names (gateway, runtime, controller)', () => {
    const used = new Set(exprs.flatMap((e) => metricNamesInPromql(e.expr)));
    for (const name of [
      'warmgate_gateway_requests_total',
      'warmgate_gateway_time_to_first_token_seconds_bucket',
      'warmgate_gateway_time_per_output_token_seconds_bucket',
      'warmgate_gateway_queued_requests',
      'warmgate_gateway_queue_time_seconds_bucket',
      'warmgate_runtime_batch_size_bucket',
      'warmgate_runtime_kv_usage_ratio',
      'warmgate_runtime_prefix_cache_hit_tokens_total',
      'warmgate_runtime_tokens_generated_total',
      'warmgate_pool_desired_instances',
      'warmgate_pool_instances',
      'warmgate_runtime_start_phase_seconds',
      'warmgate_controller_forecast_arrivals_per_minute',
      'warmgate_controller_cold_starts_total',
    ]) {
      assert.ok(used.has(name), `no panel queries ${name}`);
    }
  });

  it('names only metrics that the gateway, a runtime instance or the controller export on /metrics', () => {
    const exported = new Set([
      ...exportedNames(scraped.gateway),
      ...exportedNames(scraped.instance),
      ...exportedNames(scraped.controller),
    ]);
    assert.ok(exported.size > 20, `scraped only ${[...exported].join(', ')}`);
    const unknown = [
      ...exprs.flatMap((e) => metricNamesInPromql(e.expr).map((n) => ({ where: e.panel, n }))),
      ...variableMetrics.map((v) => ({ where: `variable ${v.variable}`, n: v.metric })),
    ].filter(({ n }) => !exported.has(n));
    assert.deepEqual(unknown, [], `exported: ${[...exported].sort().join(', ')}`);
  });

  it('every expression parses as PromQL (promtool check rules)', { skip: NO_PROMTOOL }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'warmgate-dashboard-'));
    try {
      const file = join(dir, 'rules.yml');
      const rules = exprs.map(
        (e, i) =>
          `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(asPrometheusSees(e.expr))}`,
      );
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('promtool check metrics on the scraped /metrics', { skip: NO_PROMTOOL }, () => {
  for (const name of ['gateway', 'instance', 'controller'] as const) {
    it(`the ${name}'s passes`, () => {
      const text = scraped[name];
      assert.match(text, /^# TYPE warmgate_/m, `the ${name} exported no warmgate metric`);
      // promtool exits 0 and prints nothing when it finds no problem; lint findings exit 3.
      const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(out.trim(), '');
    });
  }
});

describe('infra/modules/warmgate ships the dashboard to Grafana', () => {
  let m: TerraformModule;
  before(async () => {
    m = await loadModule(MODULE, { image: 'registry.example/warmgate:0.1.0' });
  });

  it('as a ConfigMap for the dashboard sidecar, only when grafana_dashboards is true', () => {
    const cm = resource(m, 'kubernetes_config_map_v1', 'grafana_dashboard');
    assert.equal(cm['count'], '${var.grafana_dashboards ? 1 : 0}');
    assert.equal(evaluate(m, '${var.grafana_dashboards}'), false, 'off by default');
    assert.match(String(block(cm, 'metadata')['labels']), /grafana_dashboard\s*=\s*"1"/);
  });

  it('with the dashboard file itself, by a path that exists from the module', () => {
    const data = resource(m, 'kubernetes_config_map_v1', 'grafana_dashboard')['data'] as Record<
      string,
      string
    >;
    const entries = Object.entries(data);
    assert.equal(entries.length, 1);
    const [key, value] = entries[0]!;
    assert.match(key, /\.json$/, 'the sidecar loads keys ending in .json');
    const path = /^\$\{file\("\$\{path\.module\}\/([^"]+)"\)\}$/.exec(value)?.[1];
    assert.ok(path, `data is not file("\${path.module}/..."): ${value}`);
    assert.equal(resolve(MODULE, path), resolve(DASHBOARD));
    assert.ok(existsSync(resolve(MODULE, path)));
  });
});
