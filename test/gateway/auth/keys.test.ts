import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { apiKeyId, hashApiKey, MemoryKeyStore, newApiKey } from '../../../gateway/auth/index.ts';
import { RedisKeyStore } from '../../../gateway/auth/redis-key-store.ts';
import { clockReading } from '../../support/clock-reading.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

describe('API keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are wg_<id>_<secret>, random, and parse back to their id', () => {
    const a = newApiKey();
    const b = newApiKey();
    assert.match(a.key, /^wg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.key, b.key);
    assert.notEqual(a.id, b.id);
    assert.equal(apiKeyId(a.key), a.id);
    assert.equal(a.hash, hashApiKey(a.key));
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    for (const bad of [
      '',
      'wg_',
      `${a.key}x`,
      a.key.slice(0, -1),
      a.key.replace('wg_', 'sk_'),
      `Bearer ${a.key}`,
    ]) {
      assert.equal(apiKeyId(bad), null, bad);
    }
  });

  it('the memory store verifies the key, refuses a wrong secret, an unknown id and a revoked key', async () => {
    let now = 1_000;
    const store = MemoryKeyStore.inMemory({ clock: clockReading(() => now) });
    const { record, key } = await store.create({ name: 'ci', limits: { requestsPerSecond: 5 } });
    assert.equal(record.name, 'ci');
    assert.equal(record.createdAt, 1_000);
    assert.deepEqual(record.limits, { requestsPerSecond: 5 });
    const ok = await store.verify(key);
    assert.ok(ok.ok);
    assert.equal(ok.record.id, record.id);

    const last = key.at(-1) === 'A' ? 'B' : 'A';
    assert.deepEqual(await store.verify(key.slice(0, -1) + last), { ok: false, code: 'api_key_invalid' });
    assert.deepEqual(await store.verify(newApiKey().key), { ok: false, code: 'api_key_invalid' });
    assert.deepEqual(await store.verify('not-a-key'), { ok: false, code: 'api_key_invalid' });

    now = 2_000;
    assert.equal((await store.revoke(record.id))?.revokedAt, 2_000);
    now = 3_000;
    assert.equal((await store.revoke(record.id))?.revokedAt, 2_000, 'a second revoke keeps the first time');
    assert.deepEqual(await store.verify(key), { ok: false, code: 'api_key_revoked' });
    assert.equal(await store.revoke('000000000000'), undefined);
  });

  it('the memory store’s file keeps hashes only, and reads them back', async () => {
    const file = join(dir, 'sub', 'api-keys.json');
    const store = await MemoryKeyStore.open({ file });
    const one = await store.create({ name: 'one' });
    const two = await store.create({ name: 'two', limits: { tokensPerDay: 10 } });
    await store.revoke(one.record.id);
    await store.close();
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(one.key) && !text.includes(two.key), 'no secret on disk');
    assert.ok(text.includes(hashApiKey(two.key)));

    const reopened = await MemoryKeyStore.open({ file });
    assert.deepEqual(
      (await reopened.list()).map((r) => [r.name, r.revokedAt !== null]),
      [
        ['one', true],
        ['two', false],
      ],
    );
    assert.ok((await reopened.verify(two.key)).ok);
    assert.deepEqual(await reopened.verify(one.key), { ok: false, code: 'api_key_revoked' });
  });
});

describe('API keys in Redis (a real redis-server, the store replicas share)', { timeout: 30_000 }, () => {
  let server: RedisServer;
  let client: Redis;
  before(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
  });
  after(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('Redis holds hashes only; a revocation stored there refuses the key', async () => {
    const store = new RedisKeyStore({ client, keyPrefix: 'wg:keys-test:', cacheMs: 0 });
    const one = await store.create({ name: 'one' });
    const two = await store.create({ name: 'two', limits: { tokensPerDay: 10 } });
    await store.revoke(one.record.id);

    // What is stored, read with a client of our own: every key and value under the prefix.
    const stored: string[] = [];
    for (const k of await client.keys('wg:keys-test:*')) {
      stored.push(k);
      if ((await client.type(k)) === 'hash') stored.push(...Object.entries(await client.hgetall(k)).flat());
    }
    const text = stored.join('\n');
    for (const { key } of [one, two]) {
      assert.ok(!text.includes(key), 'no whole key in Redis');
      // The secret is all after `wg_<id>_`; it may itself hold '_' (base64url), so not after the last one.
      const secret = /^wg_[0-9a-f]{12}_(.{43})$/.exec(key)![1]!;
      assert.ok(!text.includes(secret), 'no secret in Redis');
      assert.ok(text.includes(hashApiKey(key)), 'its hash is stored');
    }

    // Another replica's store, reading the same Redis, sees the revocation and the live key.
    const other = new RedisKeyStore({ client, keyPrefix: 'wg:keys-test:', cacheMs: 0 });
    assert.deepEqual(await other.verify(one.key), { ok: false, code: 'api_key_revoked' });
    assert.ok((await other.verify(two.key)).ok);
    const last = two.key.at(-1) === 'A' ? 'B' : 'A';
    assert.deepEqual(await other.verify(two.key.slice(0, -1) + last), { ok: false, code: 'api_key_invalid' });
  });
});
