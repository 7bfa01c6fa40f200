// Versions of a deployment, canary and rollback, on the platform in one process (gateway + warm-pool
// controller + local provider) with real instance processes of the tiny model: a new version takes no
// request until it has a ready instance, a 20% canary takes about 20% of the clients (each client always
// the same version), a pin reaches its version, promote and rollback move the traffic, and a version whose
// model cannot load is rolled back on its own when its progress deadline passes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { checkDeployment } from '../../gateway/deployments/index.ts';
import { stickyPoint } from '../../gateway/rollouts/index.ts';
import { HeldProvider } from '../support/held-provider.ts';
import { ADMIN_HEADERS, ADMIN_TOKEN, deployment, MODELS } from '../support/platform.ts';
import { waitFor } from '../support/wait-for.ts';

const CLI = new URL('../../warmpool/cli/main.ts', import.meta.url).pathname;
const WIDTH = 16; // the classifier's features
const SCALING = { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 };

describe('deployment versions: canary, pin, promote, rollback (real instances)', { timeout: 240_000 }, () => {
  let wg: RunningWarmgate;
  /** Version 2's instances stay 'starting' until the first test releases them. */
  const provider = new HeldProvider('tiny@2');
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${wg.url}/admin/v1/deployments/tiny${path}`, {
      method,
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { error?: { code: string } },
    };
  };
  /** Which version answered a completion (the gateway's x-warmgate-version header). */
  const complete = async (session: string, model = 'tiny') => {
    const res = await fetch(`${wg.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-warmgate-session': session },
      body: JSON.stringify({ model, prompt: 'hi', max_tokens: 2, temperature: 0 }),
    });
    const text = await res.text();
    return { status: res.status, version: res.headers.get('x-warmgate-version'), text };
  };
  /** The warmgate command as an operator runs it. */
  const warmgate = async (...args: string[]) =>
    (
      await promisify(execFile)(process.execPath, [
        '--import',
        'tsx',
        CLI,
        '--url',
        wg.url,
        '--token',
        ADMIN_TOKEN,
        ...args,
      ])
    ).stdout;
  const ready = (pool: string) => wg.gateway.gateway.registry.routable(pool).length > 0;
  /** `n` sessions a 20% canary takes once ready: sticky points (of `s:<session>`) at 0.8 or past. */
  const canarySessions = (n: number) => {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++) if (stickyPoint(`s:canary-${i}`) >= 0.8) out.push(`canary-${i}`);
    return out;
  };

  before(async () => {
    wg = await startWarmgate({
      port: 0,
      tickMs: 200,
      adminToken: ADMIN_TOKEN,
      provider,
      deployments: [
        checkDeployment(
          deployment('tiny', 'generative', 'tiny', {
            scaling: SCALING,
            versions: [
              { version: 2, model: { path: `${MODELS}tiny` } },
              { version: 3, model: { path: `${MODELS}no-such-model` } },
            ],
            // The tiny model answers in milliseconds: a TTFT ratio would judge noise (canary-verdict.test.ts
            // covers the figures); this test rolls back on the progress deadline, which leaves version 2
            // time to start while the first test holds its readiness back, on a busy machine too.
            rollout: { analysis: { progressDeadlineMs: 15_000, maxTtftP90Ratio: 1000 } },
          }),
        ),
      ],
    });
    await waitFor('version 1 ready', () => ready('tiny'));
  });
  after(async () => wg?.close());

  it('a new version takes no request until ready, then about its weight, sticky per client', async () => {
    assert.equal(ready('tiny@2'), false, 'version 2 has no instance before its rollout (weight 0)');
    const table = await warmgate('rollout', 'tiny', '--to', '2', '--weight', '20');
    assert.match(
      table,
      /^2\s+\S+\s+20%\s+0%\s+no/m,
      `declared 20%, none in force while not ready:\n${table}`,
    );
    // Version 2's instance starts, but the provider holds its readiness: until released, clients of
    // version 2's slice are version 1's (a version given weight before it is ready would keep them
    // waiting on it instead).
    await waitFor('version 2 instance started', () =>
      wg.controller.status().some((p) => p.deployment === 'tiny@2' && p.instances.length > 0),
    );
    const held = await Promise.all(canarySessions(10).map((s) => complete(s)));
    for (const r of held) assert.deepEqual([r.status, r.version], [200, '1'], r.text);
    assert.equal(ready('tiny@2'), false, 'still held');
    provider.release();
    await waitFor('version 2 ready', () => ready('tiny@2'));
    for (const s of canarySessions(10))
      assert.equal((await complete(s)).version, '2', `client ${s} of version 2's slice is version 2's now`);
    const sessions = Array.from({ length: 200 }, (_, i) => `client-${i}`);
    const first = new Map<string, string | null>();
    for (const s of sessions) first.set(s, (await complete(s)).version);
    const onCanary = [...first.values()].filter((v) => v === '2').length;
    assert.ok(onCanary >= 24 && onCanary <= 56, `about 20% of 200 clients on version 2: ${onCanary}`);
    for (const s of sessions.slice(0, 40))
      assert.equal((await complete(s)).version, first.get(s), `client ${s} stays on its version`);
    const view = await admin('GET', '/rollout');
    const versions = view.body.versions as {
      version: number;
      effectiveWeight: number;
      total: { requests: number };
    }[];
    assert.equal(versions.find((v) => v.version === 2)!.effectiveWeight, 20);
    assert.ok(versions.find((v) => v.version === 2)!.total.requests >= onCanary);
  });

  it('a pin reaches its version; an unknown one is 404 version_not_found', async () => {
    const pinned = await complete('anyone', 'tiny@2');
    assert.equal(pinned.status, 200, pinned.text);
    assert.equal(pinned.version, '2');
    const unknown = await complete('anyone', 'tiny@9');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /version_not_found/);
    const bad = await admin('POST', '/rollout', { to: 2, weight: 120 });
    assert.equal(bad.status, 400);
  });

  it('promote moves every request to version 2; rollback brings version 1 back; no request fails', async () => {
    // Clients keep sending through both steps: the version that loses its share drains, dropping nothing.
    let stop = false;
    const failures: string[] = [];
    const clients = [0, 1, 2].map(async (k) => {
      for (let i = 0; !stop; i++) {
        const r = await complete(`load-${k}-${i}`);
        if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
      }
    });
    // As an operator does it: the CLI, which prints the split and the step.
    const promotedTable = await warmgate('promote', 'tiny');
    assert.match(promotedTable, /^2 \(stable\)\s.*100%/m, promotedTable);
    assert.match(promotedTable, /promote 1 -> 2/, promotedTable);
    const promoted = await admin('GET', '/rollout');
    assert.equal(promoted.body.stable, 2);
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => complete(`p-${i}`)));
    assert.deepEqual(new Set(after.map((r) => r.version)), new Set(['2']));
    const backTable = await warmgate('rollback', 'tiny');
    assert.match(backTable, /rollback 2 -> 1/, backTable);
    const back = await admin('GET', '/rollout');
    assert.equal(back.body.stable, 1);
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => complete(`r-${i}`)));
    assert.deepEqual(new Set(again.map((r) => r.version)), new Set(['1']));
    assert.ok(ready('tiny'), 'the demoted version stayed warm for its keep-alive: the rollback was warm');
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, [], 'no request failed through promote and rollback');
  });

  it('a version that never becomes ready takes no request and is rolled back on its own', async () => {
    const step = await admin('POST', '/rollout', { to: 3, weight: 50 });
    assert.equal(step.status, 200, JSON.stringify(step.body));
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => complete(`b-${i}`)));
    assert.ok(
      during.every((r) => r.status === 200 && r.version === '1'),
      JSON.stringify(during),
    );
    await waitFor(
      'the automatic rollback',
      async () => {
        const history = (await admin('GET', '/rollout')).body.history as {
          action: string;
          reason?: string;
        }[];
        return (
          history.at(-1)?.action === 'rollback' &&
          /automatic: no ready instance/.test(history.at(-1)!.reason ?? '')
        );
      },
      45_000,
    );
    const view = await admin('GET', '/rollout');
    assert.deepEqual(view.body.traffic, [{ version: 1, weight: 100 }]);
    const shown = await warmgate('versions', 'tiny');
    assert.match(shown, /rollback 1 -> 1: automatic: no ready instance/, shown);
    assert.match(shown, /promote 1 -> 2/, shown);
  });
});

describe(
  'KServe: /v2/models/{m}/versions/{v}/infer pins a tensor version (real instances)',
  { timeout: 120_000 },
  () => {
    let wg: RunningWarmgate;
    const infer = async (path: string) => {
      const res = await fetch(`${wg.url}/v2/models/cls${path}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'features', shape: [1, WIDTH], datatype: 'FP32', data: [Array(WIDTH).fill(0.5)] }],
        }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { model_version?: string; error?: string; code?: string },
      };
    };
    before(async () => {
      wg = await startWarmgate({
        port: 0,
        tickMs: 200,
        adminToken: ADMIN_TOKEN,
        deployments: [
          checkDeployment(
            deployment('cls', 'tensor', 'classifier', {
              scaling: SCALING,
              versions: [{ version: 2, model: { path: `${MODELS}classifier` } }],
            }),
          ),
        ],
      });
    });
    after(async () => wg?.close());

    it('the plain path takes the stable version; a pinned version of no weight is started for its request', async () => {
      const plain = await infer('');
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      assert.equal(plain.body.model_version, '1');
      const pinned = await infer('/versions/2');
      assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
      assert.equal(pinned.body.model_version, '2');
      const unknown = await infer('/versions/7');
      assert.deepEqual([unknown.status, unknown.body.code], [404, 'version_not_found']);
    });

    it('readiness and metadata: per version on the versioned paths, the serving split on the plain ones', async () => {
      const get = async (path: string) => {
        const res = await fetch(`${wg.url}/v2${path}`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      // Version 2 came up for the pinned request above and is kept for its keep-alive.
      const v2 = await get('/models/cls/versions/2/ready');
      assert.deepEqual([v2.status, v2.body.ready], [200, true]);
      const meta2 = await get('/models/cls/versions/2');
      assert.equal(meta2.status, 200);
      assert.deepEqual(meta2.body.versions, ['2']);
      assert.deepEqual(
        (meta2.body.inputs as { name: string }[]).map((i) => i.name),
        ['features'],
        'version 2 describes its own inputs',
      );
      const plain = await get('/models/cls');
      assert.deepEqual(plain.body.versions, ['1', '2']);
      assert.deepEqual((await get('/models/cls/ready')).status, 200);
      assert.equal((await get('/health/ready')).status, 200);
      const unknown = await get('/models/cls/versions/7/ready');
      assert.deepEqual([unknown.status, unknown.body.code], [404, 'version_not_found']);
      const malformed = await get('/models/cls/versions/x');
      assert.deepEqual([malformed.status, malformed.body.code], [404, 'version_not_found']);
    });

    it('the function route pins as a model name does: /v1/functions/cls@2', async () => {
      const call = async (name: string) => {
        const res = await fetch(`${wg.url}/v1/functions/${name}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: { features: [Array(WIDTH).fill(0.5)] } }),
        });
        const body = (await res.json()) as { outputs?: unknown; error?: { code: string } };
        return { status: res.status, version: res.headers.get('x-warmgate-version'), body };
      };
      const pinned = await call('cls@2');
      assert.deepEqual([pinned.status, pinned.version], [200, '2'], JSON.stringify(pinned.body));
      const plain = await call('cls');
      assert.deepEqual([plain.status, plain.version], [200, '1']);
      assert.deepEqual(plain.body.outputs, pinned.body.outputs, 'both versions serve the same model files');
      const unknown = await call('cls@9');
      assert.deepEqual([unknown.status, unknown.body.error?.code], [404, 'version_not_found']);
    });
  },
);
