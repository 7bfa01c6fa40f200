import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LocalProvider } from '../../../warmpool/providers/index.ts';
import { WarmPool } from '../../../warmpool/pool/index.ts';
import type { ProviderInstance } from '../../../warmpool/providers/index.ts';
import { deployment } from '../../support/platform.ts';

/** Reconciles until `check` holds; the deadline only guards against a hang. */
async function reconcileUntil(pool: WarmPool, desired: number, check: () => boolean, what: string) {
  const end = Date.now() + 20_000;
  for (;;) {
    await pool.reconcile(desired, Date.now());
    if (check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(pool.status())}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const generate = async (url: string, maxTokens: number) => {
  const res = await fetch(`${url}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'warm pool', params: { temperature: 0, maxTokens, ignoreEos: true } }),
  });
  const lines = (await res.text()).trim().split('\n');
  return lines.map((l) => JSON.parse(l) as { type: string; reason?: string });
};

const running = async (url: string) =>
  ((await (await fetch(`${url}/load`)).json()) as { running: number }).running;

describe('WarmPool over LocalProvider with the tiny model', { timeout: 60_000 }, () => {
  const provider = new LocalProvider({ pollIntervalMs: 20 });
  const tiny = deployment('tiny', 'generative', 'tiny', { batching: { kvCacheBytes: 4 * 2 ** 20 } });
  const ready: ProviderInstance[] = [];
  const draining: string[] = [];
  const gone: string[] = [];
  const pool = new WarmPool({
    deployment: tiny,
    provider,
    drainTimeoutMs: 20_000,
    hooks: {
      onReady: (i) => ready.push(i),
      onDraining: (i) => draining.push(i.id),
      onGone: (i, how) => gone.push(`${i.id} ${how.state}${how.reason ? ` ${how.reason}` : ''}`),
    },
  });
  after(async () => {
    await pool.close();
    await provider.close(1000);
  });
  const states = () => pool.status().instances.map((i) => i.state);

  it('scales 2 → 1 by draining: the drained instance finishes its in-flight request', async () => {
    await reconcileUntil(pool, 2, () => ready.length === 2, 'two ready instances');
    assert.deepEqual(states(), ['ready-idle', 'ready-idle']);
    for (const i of pool.status().instances) assert.ok(i.coldStartMs! > 0, 'cold start measured');

    const inflight = ready.map((i) => generate(i.url, 200));
    for (const i of ready) while ((await running(i.url)) === 0) await new Promise((r) => setTimeout(r, 10));

    await pool.reconcile(1, Date.now());
    assert.equal(draining.length, 1);
    assert.deepEqual(states().sort(), ['draining', 'ready-idle']);
    for (const events of await Promise.all(inflight)) {
      assert.equal(events.filter((e) => e.type === 'token').length, 200);
      assert.equal(events.at(-1)!.reason, 'length');
    }
    await reconcileUntil(pool, 1, () => gone.length === 1, 'the drained instance to end');
    assert.deepEqual(gone, [`${draining[0]} stopped`]);
    assert.deepEqual(states(), ['ready-idle']);
    assert.equal(provider.exitOf(draining[0]!)?.code, 0, 'it drained and exited cleanly');
  });

  it('an instance killed with SIGKILL is replaced at the next reconcile, and onGone fires', async () => {
    const victim = pool.status().instances[0]!.id;
    process.kill(provider.pid(victim)!, 'SIGKILL');
    while (provider.exitOf(victim) === undefined) await new Promise((r) => setTimeout(r, 10));

    await pool.reconcile(1, Date.now());
    assert.deepEqual(gone.slice(1), [`${victim} failed signal SIGKILL`]);
    const s = pool.status();
    assert.equal(s.instances.length, 1);
    assert.notEqual(s.instances[0]!.id, victim);
    assert.equal(s.backoffUntil, undefined, 'a crash after ready is not a crash loop');
    assert.equal(s.lastFailure?.reason, 'signal SIGKILL');

    await reconcileUntil(pool, 1, () => states()[0] === 'ready-idle', 'the replacement to be ready');
    assert.equal(ready.at(-1)!.id, s.instances[0]!.id);
    assert.equal(await running(ready.at(-1)!.url), 0);
  });
});
