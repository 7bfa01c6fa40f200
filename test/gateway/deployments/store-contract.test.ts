import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  createDeploymentStore,
  DeploymentFileError,
  FileDeploymentStore,
  RedisDeploymentStore,
  type DeploymentStore,
} from '../../../gateway/deployments/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { generative, tensor } from './fixtures.ts';

/** A fresh, empty backing (a file, a Redis key prefix); each call of what it returns opens a store on it. */
type Backing = () => () => DeploymentStore;

/** The behaviour every DeploymentStore must have. */
function storeContract(name: string, backing: Backing): void {
  describe(`DeploymentStore contract: ${name}`, () => {
    let stores: DeploymentStore[] = [];
    const opener = (): (() => DeploymentStore) => {
      const open = backing();
      return () => {
        const s = open();
        stores.push(s);
        return s;
      };
    };
    afterEach(async () => {
      for (const s of stores) await s.close();
      stores = [];
    });

    it('starts empty', async () => {
      const s = opener()();
      assert.deepEqual(await s.list(), []);
      assert.equal(await s.get('nope'), undefined);
      assert.equal(await s.delete('nope'), false);
    });

    it('keeps what was put, lists it by name, and replaces by name', async () => {
      const s = opener()();
      await s.put(tensor('zeta'));
      await s.put(generative('alpha'));
      await s.put(tensor('mid'));
      assert.deepEqual(await s.get('alpha'), generative('alpha'));
      assert.deepEqual(
        (await s.list()).map((d) => d.name),
        ['alpha', 'mid', 'zeta'],
      );
      const bigger = tensor('mid', { scaling: { ...tensor('mid').scaling, maxInstances: 9 } });
      await s.put(bigger);
      assert.deepEqual(await s.get('mid'), bigger);
      assert.equal((await s.list()).length, 3);
    });

    it('deletes: true once, then false, and the deployment is gone', async () => {
      const s = opener()();
      await s.put(generative('a'));
      await s.put(generative('b'));
      assert.equal(await s.delete('a'), true);
      assert.equal(await s.delete('a'), false);
      assert.equal(await s.get('a'), undefined);
      assert.deepEqual(
        (await s.list()).map((d) => d.name),
        ['b'],
      );
    });

    it('hands out copies: changing one changes nothing stored', async () => {
      const s = opener()();
      const spec = generative('a');
      await s.put(spec);
      spec.scaling.maxInstances = 99;
      const got = (await s.get('a'))!;
      assert.equal(got.scaling.maxInstances, 4);
      got.scaling.maxInstances = 77;
      (await s.list())[0]!.kind = 'tensor';
      assert.deepEqual(await s.get('a'), generative('a'));
    });

    it('persists: another store opened on the same backing sees every write', async () => {
      const open = opener();
      const first = open();
      await first.put(generative('kept'));
      await first.put(tensor('dropped'));
      await first.delete('dropped');
      await first.close();
      const second = open();
      assert.deepEqual(await second.list(), [generative('kept')]);
    });

    it('loses none of many concurrent writes', async () => {
      const s = opener()();
      const names = Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, '0')}`);
      await Promise.all(names.map((n) => s.put(tensor(n))));
      await Promise.all(names.filter((_, i) => i % 2 === 0).map((n) => s.delete(n)));
      assert.deepEqual(
        (await s.list()).map((d) => d.name),
        names.filter((_, i) => i % 2 === 1),
      );
    });
  });
}

describe('deployment stores', () => {
  const root = mkdtempSync(join(tmpdir(), 'wg-deployments-'));
  let files = 0;
  after(() => rmSync(root, { recursive: true, force: true }));
  storeContract('file', () => {
    const path = join(root, `case${++files}`, 'deployments.json');
    return () => new FileDeploymentStore(path);
  });

  let server: RedisServer;
  let prefixes = 0;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });
  storeContract('redis', () => {
    const keyPrefix = `wg:test${++prefixes}:`;
    return () => new RedisDeploymentStore({ url: server.url, keyPrefix });
  });

  describe('file store specifics', () => {
    it('creates the file and its folders on first use, and leaves no temporary files', async () => {
      const dir = join(root, 'fresh', 'nested');
      const s = new FileDeploymentStore(join(dir, 'deployments.json'));
      assert.deepEqual(await s.list(), []);
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'deployments.json'), 'utf8')), { deployments: [] });
      await s.put(tensor('b'));
      await s.put(generative('a'));
      await s.close();
      assert.deepEqual(readdirSync(dir), ['deployments.json']);
      const doc = JSON.parse(readFileSync(join(dir, 'deployments.json'), 'utf8'));
      assert.deepEqual(doc, { deployments: [generative('a'), tensor('b')] });
    });

    const bad: [string, string, RegExp][] = [
      ['is not JSON', '{"deployments": [', /is not valid JSON/],
      ['has no deployments list', '{"items": []}', /must hold \{ "deployments": \[ \.\.\. \] \}/],
      [
        'holds an invalid deployment',
        JSON.stringify({ deployments: [tensor('ok'), { ...tensor('bad'), kind: 'video' }] }),
        /invalid deployments\[1\]: deployment field 'kind'/,
      ],
      [
        'lists a name twice',
        JSON.stringify({ deployments: [tensor('twice'), generative('twice')] }),
        /lists 'twice' twice/,
      ],
    ];
    for (const [what, text, problem] of bad) {
      it(`refuses, naming the file, a file that ${what}`, async () => {
        const path = join(root, `bad-${what.replaceAll(' ', '-')}.json`);
        writeFileSync(path, text);
        const s = new FileDeploymentStore(path);
        const err = await s.list().then(
          () => assert.fail('expected the file to be refused'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof DeploymentFileError, String(err));
        assert.equal(err.path, path);
        assert.ok(err.message.startsWith(`deployments file ${path} `), err.message);
        assert.match(err.message, problem);
        await assert.rejects(s.put(tensor('x')), DeploymentFileError, 'no write over a bad file');
        assert.equal(readFileSync(path, 'utf8'), text);
      });
    }
  });

  describe('redis store specifics', () => {
    it("keeps deployments in one hash, 'warmgate:deployments' by default, name to JSON", async (t) => {
      const redis = new Redis(server.url);
      t.after(() => redis.quit());
      const s = new RedisDeploymentStore({ client: redis });
      assert.equal(s.key, 'warmgate:deployments');
      await s.put(generative('a'));
      await s.put(tensor('b'));
      await s.close(); // the caller owns the client: still usable
      const hash = await redis.hgetall('warmgate:deployments');
      assert.deepEqual(Object.keys(hash).sort(), ['a', 'b']);
      assert.deepEqual(JSON.parse(hash.a!), generative('a'));
      await redis.del('warmgate:deployments');
    });

    it('skips, with a warning, entries that are not valid deployments', async (t) => {
      const redis = new Redis(server.url);
      t.after(() => redis.quit());
      const warnings: string[] = [];
      const s = new RedisDeploymentStore({
        client: redis,
        keyPrefix: 'wg:bad:',
        warn: (m) => warnings.push(m),
      });
      await s.put(tensor('good'));
      await redis.hset('wg:bad:deployments', {
        garbage: '{not json',
        invalid: JSON.stringify({ ...tensor('invalid'), scaling: { minInstances: -1 } }),
        misnamed: JSON.stringify(tensor('other')),
      });
      assert.deepEqual(await s.list(), [tensor('good')]);
      assert.equal(warnings.length, 3);
      assert.match(warnings.find((w) => w.includes("'garbage'")) ?? '', /wg:bad:deployments: .*JSON/);
      assert.match(warnings.find((w) => w.includes("'invalid'")) ?? '', /scaling\.minInstances/);
      assert.match(warnings.find((w) => w.includes("'misnamed'")) ?? '', /named 'other'/);
      assert.equal(await s.get('invalid'), undefined);
      assert.deepEqual(await s.get('good'), tensor('good'));
    });

    it('fails fast, rather than queueing, while Redis is unreachable', async () => {
      const gone = await startRedisServer();
      const s = new RedisDeploymentStore({ url: gone.url, readyTimeoutMs: 2000 });
      try {
        await s.put(tensor('before'));
        await gone.stop();
        await assert.rejects(s.put(tensor('during')));
        await assert.rejects(s.list());
      } finally {
        await s.close();
        await gone.stop();
      }
    });
  });

  it('createDeploymentStore picks Redis when given a URL, the file otherwise', async () => {
    const file = createDeploymentStore({ file: join(root, 'picked.json') });
    const blank = createDeploymentStore({ file: join(root, 'picked.json'), redisUrl: '' });
    const redis = createDeploymentStore({ file: join(root, 'unused.json'), redisUrl: server.url });
    try {
      assert.ok(file instanceof FileDeploymentStore);
      assert.ok(blank instanceof FileDeploymentStore);
      assert.ok(redis instanceof RedisDeploymentStore);
      assert.equal(redis.key, 'warmgate:deployments');
    } finally {
      for (const s of [file, blank, redis]) await s.close();
    }
  });
});
