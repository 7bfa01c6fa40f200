import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArtifactCache, ArtifactStartError } from '../../../warmpool/artifacts/index.ts';
import { LocalProvider } from '../../../warmpool/index.ts';
import type { InstanceHealth } from '../../../warmpool/index.ts';
import { deployment } from '../../support/platform.ts';
import { type ModelServer, startModelServer, TINY_SHA256 } from './model-server.ts';

/** Polls until `check` holds; the deadline only guards against a hang. */
async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const healthBecomes = (p: LocalProvider, id: string, want: InstanceHealth) =>
  until(async () => (await p.health(id)) === want, `${id} to be ${want}`);

describe('LocalProvider with URL artifacts', { timeout: 60_000 }, () => {
  let server: ModelServer;
  let dir: string;
  let p: LocalProvider;
  before(async () => {
    server = await startModelServer();
    dir = await mkdtemp(join(tmpdir(), 'warmgate-provider-artifacts-'));
    p = new LocalProvider({ pollIntervalMs: 20, artifacts: new ArtifactCache({ dir }) });
  });
  after(async () => {
    await p.close(1000);
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const batching = { kvCacheBytes: 4 * 2 ** 20 };

  it('downloads the model, starts the instance from the cache, and it becomes ready', async () => {
    const d = deployment('remote', 'generative', 'tiny', {
      model: { url: server.url, sha256: TINY_SHA256 },
      batching,
    });
    const a = await p.start({ deployment: d, instanceId: 'remote-1' });
    assert.deepEqual(a.deployment.model, d.model); // the instance keeps the deployment as written
    await healthBecomes(p, 'remote-1', 'ready');
    assert.deepEqual(await readdir(dir), [TINY_SHA256]);
    const res = await fetch(`${a.url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi', params: { temperature: 0, maxTokens: 2, ignoreEos: true } }),
    });
    assert.equal(res.status, 200);
    await res.text();
  });

  it('rejects a start whose sha256 does not match, with the reason, and the other instance keeps serving', async () => {
    const wrong = 'b'.repeat(64);
    const bad = deployment('remote-bad', 'generative', 'tiny', {
      model: { url: server.url, sha256: wrong },
      batching,
    });
    const err = await p.start({ deployment: bad, instanceId: 'bad-1' }).then(
      () => assert.fail('start should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ArtifactStartError);
    assert.equal(err.code, 'artifact_mismatch');
    assert.match(
      err.message,
      /^deployment remote-bad: artifact_mismatch: .*model\.json has sha256 [0-9a-f]{12}…, the deployment pins bbbbbbbbbbbb…$/,
    );
    assert.deepEqual(
      (await p.list()).map((i) => i.id),
      ['remote-1'],
    );
    assert.equal(p.exitOf('bad-1'), undefined);
    assert.deepEqual(await readdir(dir), [TINY_SHA256]);
    assert.equal(await p.health('remote-1'), 'ready');
  });
});
