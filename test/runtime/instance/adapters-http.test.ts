// LoRA adapters named by POST /generate on a real instance (the llama fixture imported, real HTTP): each
// is loaded on first use and gives its merged model's greedy tokens, requests that name one while it
// loads share that load, and a refused adapter is a 4xx before any token that loses nothing else. The
// same with the KV pool on the device (--kv device: on the CPU, the contract webgpu instances run).
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { writeRandomPeftAdapter } from '../../../runtime/adapters/index.ts';
import { resolveArchitecture } from '../../../runtime/model/architecture.ts';
import { createInstanceApp } from '../../../runtime/instance/app.ts';
import { HOST_ADAPTERS_PER_SLOT } from '../../../runtime/instance/instance-adapters.ts';
import { parseInstanceArgs } from '../../../runtime/instance/config.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { readHfGolden } from '../../support/hf-golden.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { LORA_SPEC, loraDir, loraGolden } from '../../support/lora-fixtures.ts';

interface Answer {
  status: number;
  tokens: number[];
  error?: { code: string; message: string };
}

async function listen(inst: RuntimeInstance): Promise<{ url: string; server: ServerType }> {
  const server = serve({ fetch: createInstanceApp(inst).fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe(
  'LoRA adapters over an instance HTTP API (llama fixture, real instance)',
  { timeout: 300_000 },
  () => {
    let folder: { dir: string; remove(): Promise<void> };
    let scratch: string;
    const served: { inst: RuntimeInstance; server: ServerType }[] = [];
    let url: string;
    let baseOnly: string;
    const base = readHfGolden('llama');

    const start = async (adapters: boolean, kv?: 'device') => {
      const inst = new RuntimeInstance({
        modelDir: folder.dir,
        kind: 'generative',
        engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
        ...(adapters && { adapters: LORA_SPEC }),
        ...(kv && { kv }),
      });
      await inst.start();
      const { url: u, server } = await listen(inst);
      served.push({ inst, server });
      return u;
    };
    before(async () => {
      folder = await tempHfModelFolder('llama');
      scratch = await mkdtemp(join(tmpdir(), 'wg-adapters-http-'));
      url = await start(true);
      baseOnly = await start(false);
    });
    after(async () => {
      for (const s of served) {
        s.server.close();
        await s.inst.drain();
      }
      await folder?.remove();
      await rm(scratch, { recursive: true, force: true });
    });

    async function generate(
      at: string,
      prompt: number[],
      maxTokens: number,
      adapter?: object,
    ): Promise<Answer> {
      const res = await fetch(`${at}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt, params: { temperature: 0, maxTokens }, ...(adapter && { adapter }) }),
      });
      const text = await res.text();
      if (res.status !== 200)
        return { status: res.status, tokens: [], error: (JSON.parse(text) as Answer).error };
      const events = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; token?: number });
      return { status: 200, tokens: events.filter((e) => e.type === 'token').map((e) => e.token!) };
    }

    it("loads each adapter on first use: its merged model's greedy tokens, the base model's without one", async () => {
      const g = loraGolden('lora-r4-qv').prompts[0]!;
      const b = base.prompts[0]!;
      // Two requests name the adapter at once: they share one load.
      const adapter = { id: 'qv', path: loraDir('lora-r4-qv') };
      const [first, second, plain] = await Promise.all([
        generate(url, [...g.ids], g.greedy.length, adapter),
        generate(url, [...g.ids], g.greedy.length, adapter),
        generate(url, [...b.ids], b.greedy.length),
      ]);
      assert.deepEqual(first, { status: 200, tokens: g.greedy });
      assert.deepEqual(second, { status: 200, tokens: g.greedy });
      assert.deepEqual(plain, { status: 200, tokens: b.greedy });
      assert.notDeepEqual(g.greedy, b.greedy, 'the adapter changes what the model says');

      const all = loraGolden('lora-r8-all').prompts[1]!;
      const other = await generate(url, [...all.ids], all.greedy.length, {
        id: 'all',
        path: loraDir('lora-r8-all'),
      });
      assert.deepEqual(other, { status: 200, tokens: all.greedy });
      const listed = (await (await fetch(`${url}/adapters`)).json()) as {
        adapters: string[];
        memory: { registered: number };
      };
      assert.deepEqual(listed.adapters.sort(), ['all', 'qv']);
      assert.equal(listed.memory.registered, 2);
    });

    it('refuses a bad adapter with its code before any token, and keeps serving the rest', async () => {
      const badRank = join(scratch, 'rank-128');
      await cp(loraDir('lora-r4-qv'), badRank, { recursive: true });
      const config = JSON.parse(await readFile(join(badRank, 'adapter_config.json'), 'utf8')) as {
        r: number;
      };
      await writeFile(join(badRank, 'adapter_config.json'), JSON.stringify({ ...config, r: 128 }));
      const g = loraGolden('lora-r4-qv').prompts[0]!;
      const refused = await generate(url, [...g.ids], 4, { id: 'big', path: badRank });
      assert.equal(refused.status, 422);
      assert.equal(refused.error?.code, 'adapter_rank_too_large');

      const missing = await generate(url, [...g.ids], 4, { id: 'gone', path: join(scratch, 'nothing-here') });
      assert.equal(missing.status, 404);
      assert.equal(missing.error?.code, 'adapter_not_found');

      const conflict = await generate(url, [...g.ids], 4, { id: 'qv', path: loraDir('lora-r8-all') });
      assert.equal(conflict.status, 409);
      assert.equal(conflict.error?.code, 'adapter_conflict');

      const malformed = await generate(url, [...g.ids], 4, { id: 'x' });
      assert.equal(malformed.status, 400);

      const unserved = await generate(baseOnly, [...g.ids], 4, { id: 'qv', path: loraDir('lora-r4-qv') });
      assert.equal(unserved.status, 400);
      assert.equal(unserved.error?.code, 'adapters_not_served');

      // Nothing was lost: the loaded adapter still answers as its merged model.
      assert.deepEqual(
        await generate(url, [...g.ids], g.greedy.length, { id: 'qv', path: loraDir('lora-r4-qv') }),
        {
          status: 200,
          tokens: g.greedy,
        },
      );
    });

    const preload = async (id: string, path: string | undefined) => {
      const res = await fetch(`${url}/adapters`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(path === undefined ? { id } : { id, path }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { loaded?: boolean; error?: { code: string } },
      };
    };
    const held = async () =>
      ((await (await fetch(`${url}/adapters`)).json()) as { adapters: string[] }).adapters;

    it('loads an adapter ahead of its requests (POST /adapters), refusing a bad one as a request would', async () => {
      const r = await preload('ahead', loraDir('lora-r8-all'));
      assert.deepEqual([r.status, r.body.loaded], [200, true]);
      assert.ok((await held()).includes('ahead'));
      assert.ok(
        ((await fetch(`${url}/load`).then((x) => x.json())) as { adapters: string[] }).adapters.includes(
          'ahead',
        ),
      );
      const g = loraGolden('lora-r8-all').prompts[0]!;
      assert.deepEqual(
        await generate(url, [...g.ids], g.greedy.length, { id: 'ahead', path: loraDir('lora-r8-all') }),
        {
          status: 200,
          tokens: g.greedy,
        },
      );
      assert.equal(
        (await preload('nope', join(scratch, 'nothing-here'))).body.error?.code,
        'adapter_not_found',
      );
      assert.equal((await preload('x', undefined)).status, 400);
    });

    it('keeps at most four adapters per slot in host memory, letting the least recently used go', async () => {
      const arch = resolveArchitecture(
        (JSON.parse(await readFile(join(folder.dir, 'model.json'), 'utf8')) as { architecture: never })
          .architecture,
      );
      const limit = (LORA_SPEC.slots - 1) * HOST_ADAPTERS_PER_SLOT;
      const ids: string[] = [];
      for (let i = 0; i < limit + 3; i++) {
        const dir = join(scratch, `random-${i}`);
        await writeRandomPeftAdapter(dir, arch, { rank: 4, targets: ['q_proj', 'v_proj'], seed: i + 1 });
        ids.push(`random-${i}`);
        assert.equal((await preload(`random-${i}`, dir)).status, 200);
      }
      const now = await held();
      assert.equal(now.length, limit);
      assert.deepEqual(now, ids.slice(-limit), 'the most recently asked-for stay');
      // One let go loads again when asked for.
      assert.equal((await preload('random-0', join(scratch, 'random-0'))).status, 200);
      assert.ok((await held()).includes('random-0'));
    });

    it('serves adapters with the KV pool on the device (--kv device)', async () => {
      const flags = ['--ep', 'webgpu,cpu', '--kv', 'device', '--adapter-slots', '2'];
      assert.equal(parseInstanceArgs(flags).kv, 'device');
      assert.throws(() => parseInstanceArgs(['--kv', 'gpu']), /--kv must be host or device/);
      const onDevice = await start(true, 'device');
      const g = loraGolden('lora-r8-all').prompts[0]!;
      const b = base.prompts[0]!;
      const [adapted, plain] = await Promise.all([
        generate(onDevice, [...g.ids], g.greedy.length, { id: 'all', path: loraDir('lora-r8-all') }),
        generate(onDevice, [...b.ids], b.greedy.length),
      ]);
      assert.deepEqual(adapted, { status: 200, tokens: g.greedy });
      assert.deepEqual(plain, { status: 200, tokens: b.greedy });
      const listed = (await (await fetch(`${onDevice}/adapters`)).json()) as { memory: { stacks: string } };
      assert.equal(listed.memory.stacks, 'device', 'the slot stacks held on the device');
    });
  },
);
