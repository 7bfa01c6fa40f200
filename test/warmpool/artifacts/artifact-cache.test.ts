import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadModel } from '../../../runtime/model/index.ts';
import { ArtifactCache, defaultCacheDir } from '../../../warmpool/artifacts/index.ts';
import { type ModelServer, startModelServer, TINY_SHA256 } from './model-server.ts';

describe('ArtifactCache', { timeout: 60_000 }, () => {
  let server: ModelServer;
  let dir: string;
  before(async () => {
    server = await startModelServer();
  });
  after(() => server.close());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warmgate-artifacts-'));
    server.mode = 'ok';
    server.requests.length = 0;
  });

  it('downloads, verifies and caches; a second resolve makes no request', async () => {
    const cache = new ArtifactCache({ dir });
    const r = await cache.resolve({ url: server.url, sha256: TINY_SHA256 });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.dir, join(dir, TINY_SHA256));
    assert.equal(r.downloaded, true);
    assert.deepEqual((await readdir(r.dir)).sort(), [
      'decode_contiguous.onnx',
      'engine.onnx',
      'golden.json',
      'model.json',
      'reference.onnx',
      'weights.bin',
    ]);
    const made = server.requests.length;
    assert.equal(made, 6);
    // A fresh cache object (a restarted process) finds the copy on disk.
    const again = await new ArtifactCache({ dir }).resolve({ url: server.url, sha256: TINY_SHA256 });
    assert.deepEqual(again, { ok: true, dir: r.dir, downloaded: false });
    assert.equal(server.requests.length, made);
    await rm(dir, { recursive: true, force: true });
  });

  it('gives a folder that loads with a real ONNX session', async () => {
    const r = await new ArtifactCache({ dir }).resolve({ url: `${server.url}/`, sha256: TINY_SHA256 });
    assert.ok(r.ok);
    const model = await loadModel(r.dir);
    try {
      assert.equal(model.manifest.name, 'tiny-test');
    } finally {
      await model.release();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a model.json whose sha256 is not the pinned one, caching nothing', async () => {
    server.mode = 'wrong-manifest';
    const r = await new ArtifactCache({ dir }).resolve({ url: server.url, sha256: TINY_SHA256 });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'artifact_mismatch');
    assert.match(r.error.message, new RegExp(`pins ${TINY_SHA256.slice(0, 12)}`));
    assert.match(r.error.message, /model\.json has sha256 [0-9a-f]{12}/);
    assert.deepEqual(server.requests, ['/models/tiny/model.json']);
    assert.deepEqual(await readdir(dir), []);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a tampered file and leaves no partial folder', async () => {
    server.mode = 'tampered';
    const r = await new ArtifactCache({ dir }).resolve({ url: server.url, sha256: TINY_SHA256 });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'artifact_corrupt');
    assert.match(r.error.message, /weights\.bin has sha256 [0-9a-f]{12}…, model\.json expects aad91334c898/);
    assert.deepEqual(await readdir(dir), []);
    // Once the server is fixed the same cache downloads a good copy.
    server.mode = 'ok';
    assert.ok((await new ArtifactCache({ dir }).resolve({ url: server.url, sha256: TINY_SHA256 })).ok);
    await rm(dir, { recursive: true, force: true });
  });

  it('reports an HTTP failure or a closed port as artifact_unreachable, naming the URL', async () => {
    server.mode = 'fail';
    const cache = new ArtifactCache({ dir });
    const r = await cache.resolve({ url: server.url, sha256: TINY_SHA256 });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'artifact_unreachable');
    assert.equal(r.error.message, `${server.url}/model.json answered HTTP 500`);

    const closed = await startModelServer();
    await closed.close();
    const down = await cache.resolve({ url: closed.url, sha256: TINY_SHA256 });
    assert.ok(!down.ok);
    assert.equal(down.error.code, 'artifact_unreachable');
    assert.ok(down.error.message.startsWith(`${closed.url}/model.json: `), down.error.message);

    const ftp = await cache.resolve({ url: 'ftp://127.0.0.1/m', sha256: TINY_SHA256 });
    assert.ok(!ftp.ok);
    assert.match(ftp.error.message, /only http: and https:/);
    assert.deepEqual(await readdir(dir), []);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a file over the size cap as artifact_too_large', async () => {
    const r = await new ArtifactCache({ dir, maxFileBytes: 1024 }).resolve({
      url: server.url,
      sha256: TINY_SHA256,
    });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'artifact_too_large');
    assert.deepEqual(await readdir(dir), []);
    await rm(dir, { recursive: true, force: true });
  });

  it('shares one download between concurrent resolutions', async () => {
    const cache = new ArtifactCache({ dir });
    const [a, b] = await Promise.all([
      cache.resolve({ url: server.url, sha256: TINY_SHA256 }),
      cache.resolve({ url: server.url, sha256: TINY_SHA256 }),
    ]);
    assert.ok(a.ok && b.ok);
    assert.equal(a.dir, b.dir);
    assert.equal(server.requests.filter((p) => p.endsWith('/model.json')).length, 1);
    assert.equal(server.requests.length, 6);
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps one copy when two caches (processes) race for the same artifact', async () => {
    const [a, b] = await Promise.all([
      new ArtifactCache({ dir }).resolve({ url: server.url, sha256: TINY_SHA256 }),
      new ArtifactCache({ dir }).resolve({ url: server.url, sha256: TINY_SHA256 }),
    ]);
    assert.ok(a.ok && b.ok);
    assert.equal(a.dir, b.dir);
    assert.deepEqual(await readdir(dir), [TINY_SHA256]);
    await loadModel(a.dir).then((m) => m.release());
    await rm(dir, { recursive: true, force: true });
  });

  it('defaults under XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/warmgate/models');
    assert.match(defaultCacheDir({}), /\/\.cache\/warmgate\/models$/);
  });
});
