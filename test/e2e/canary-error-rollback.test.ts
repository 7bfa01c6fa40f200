// Automatic rollback on the canary's error rate, end to end: the platform in one process (gateway +
// warm-pool controller + local provider) with real instance processes. Version 2 is a broken export of
// the tiny model (test/support/nan-positions-model.ts): its instance loads and becomes ready, then fails
// every request past position 4 on the instance (engine_step_failed), which version 1 serves. With
// traffic on both, the gateway's rollout watch rolls version 2 back on its own and says why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkDeployment } from '../../gateway/deployments/index.ts';
import { stickyPoint } from '../../gateway/rollouts/index.ts';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { nanPositionsModel } from '../support/nan-positions-model.ts';
import { ADMIN_HEADERS, ADMIN_TOKEN, deployment } from '../support/platform.ts';
import { waitFor } from '../support/wait-for.ts';

const SCALING = { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 };
/** Longer than the broken version's good positions (0 to 3): it fails at the prompt's last token. */
const PROMPT = 'once upon a time';

interface RolloutView {
  traffic: { version: number; weight: number }[];
  effective: { version: number; weight: number }[];
  history: { action: string; from: number; to: number; reason?: string }[];
  versions: { version: number; total: { requests: number; errors: number } }[];
}

describe(
  'a canary failing its requests is rolled back on its error rate (real instances)',
  { timeout: 180_000 },
  () => {
    let wg: RunningWarmgate;
    let broken: { dir: string; remove(): Promise<void> };
    const ready = (pool: string) => wg.gateway.gateway.registry.routable(pool).length > 0;
    const rolloutView = async () => {
      const res = await fetch(`${wg.url}/admin/v1/deployments/tiny/rollout`, { headers: ADMIN_HEADERS });
      return (await res.json()) as RolloutView;
    };
    const complete = async (session: string) => {
      const res = await fetch(`${wg.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-warmgate-session': session },
        body: JSON.stringify({ model: 'tiny', prompt: PROMPT, max_tokens: 4, temperature: 0 }),
      });
      return { status: res.status, version: res.headers.get('x-warmgate-version'), text: await res.text() };
    };

    before(async () => {
      broken = await nanPositionsModel(4);
      wg = await startWarmgate({
        port: 0,
        tickMs: 200,
        adminToken: ADMIN_TOKEN,
        deployments: [
          checkDeployment(
            deployment('tiny', 'generative', 'tiny', {
              scaling: SCALING,
              versions: [{ version: 2, model: { path: broken.dir } }],
              // A short window and few requests, so the verdict comes within seconds; no TTFT judgement
              // (the tiny model answers in milliseconds, its ratio is noise) and no progress deadline in
              // reach: the error rate is what rolls back.
              rollout: {
                analysis: {
                  windowMs: 5000,
                  minRequests: 10,
                  maxErrorRateIncrease: 0.2,
                  maxTtftP90Ratio: 1000,
                  progressDeadlineMs: 120_000,
                },
              },
            }),
          ),
        ],
      });
      await waitFor('version 1 ready', () => ready('tiny'));
    });
    after(async () => {
      await wg?.close();
      await broken?.remove();
    });

    it('fails on the canary, is rolled back with the reason, and then every request is served by version 1', async () => {
      const step = await fetch(`${wg.url}/admin/v1/deployments/tiny/rollout`, {
        method: 'POST',
        headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify({ to: 2, weight: 50 }),
      });
      assert.equal(step.status, 200, await step.text());
      await waitFor('version 2 ready (the broken model loads and warms up)', () => ready('tiny@2'));

      // Clients on both versions until the rollout watch acts; each answer as its version gives it.
      const seen = { 1: { ok: 0, failed: [] as string[] }, 2: { ok: 0, failed: [] as string[] } };
      let rolledBack = false;
      const clients = [0, 1, 2, 3].map(async (k) => {
        for (let i = 0; !rolledBack; i++) {
          const r = await complete(`client-${k}-${i}`);
          const v = seen[r.version === '2' ? 2 : 1];
          if (r.status === 200) v.ok++;
          else v.failed.push(`${r.status} ${r.text}`);
        }
      });
      let view: RolloutView | undefined;
      await waitFor(
        'the automatic rollback',
        async () => {
          view = await rolloutView();
          return view.history.at(-1)?.action === 'rollback';
        },
        60_000,
      ).finally(() => (rolledBack = true));
      await Promise.all(clients);

      const last = view!.history.at(-1)!;
      assert.deepEqual([last.from, last.to], [1, 1], 'version 1 stays stable');
      assert.match(last.reason ?? '', /^automatic: error rate \d+\.\d% against the stable's 0\.0%/);
      assert.deepEqual(view!.traffic, [{ version: 1, weight: 100 }]);
      assert.deepEqual(view!.effective, [{ version: 1, weight: 100 }]);
      const canary = view!.versions.find((v) => v.version === 2)!.total;
      assert.ok(canary.errors >= 10, `the canary's errors were counted: ${JSON.stringify(canary)}`);
      // The fault is the instance's, on the requests version 1 serves.
      assert.equal(seen[1].failed.length, 0, seen[1].failed.join('\n'));
      assert.ok(seen[1].ok >= 10, `version 1 served its share: ${seen[1].ok}`);
      assert.ok(seen[2].failed.length >= 10, `version 2 failed its share: ${seen[2].failed.length}`);
      assert.equal(seen[2].ok, 0, 'version 2 served no request in full');
      assert.match(seen[2].failed[0]!, /^500 .*engine_step_failed/);

      // Clients of the canary's slice (a 50% split: sticky points at 0.5 or past) are version 1's now.
      const slice = Array.from({ length: 200 }, (_, i) => `after-${i}`)
        .filter((s) => stickyPoint(`s:${s}`) >= 0.5)
        .slice(0, 20);
      const after = await Promise.all(slice.map((s) => complete(s)));
      for (const r of after) assert.deepEqual([r.status, r.version], [200, '1'], r.text);
    });
  },
);
