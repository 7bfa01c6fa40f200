// The gateway never runs a model, so its process must not load ONNX Runtime (a native library and its
// start-up cost). Its one way into the engine is runtime/engine/api.ts; a value import of
// runtime/engine/index.ts anywhere below gateway/main.ts would load onnxruntime-node and fail this test.
// A real gateway process is started with a resolution hook that records every module it resolves.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, launchInstance } from '../../runtime/instance/launch.ts';
import { readHfGolden } from '../support/hf-golden.ts';
import { tempHfModelFolder } from '../support/hf-model-folder.ts';
import { SCALING } from '../support/platform.ts';

const root = new URL('../../', import.meta.url).pathname;
const RECORDING = ['--import', 'tsx', '--import', './test/support/module-loads/register.mjs'];
const ORT = /onnxruntime/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the gateway process does not load ONNX Runtime (real process)', { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warmgate-module-loads-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the recording sees onnxruntime-node when the engine itself is imported', async () => {
    // The control: the same hook on a process that does import the engine records it.
    const log = join(dir, 'engine.log');
    const child = spawn(
      process.execPath,
      [...RECORDING, '--input-type=module', '-e', "await import('./runtime/engine/index.ts');"],
      { cwd: root, env: { ...process.env, LOADED_MODULES_LOG: log }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, err);
    const loaded = (await readFile(log, 'utf8')).split('\n');
    assert.ok(
      loaded.some((url) => ORT.test(url)),
      'runtime/engine/index.ts loads onnxruntime-node',
    );
  });

  /**
   * Runs gateway/main.ts with the recording hook and `flags`, calls `use` with its URL once it is ready,
   * then checks that no ONNX Runtime module was resolved and no library of it mapped.
   */
  async function recordedGateway(
    name: string,
    flags: readonly string[],
    env: Record<string, string>,
    use: (url: string) => Promise<void>,
  ): Promise<void> {
    const log = join(dir, `${name}.log`);
    const port = await freePort();
    const child = spawn(process.execPath, [...RECORDING, 'gateway/main.ts', ...flags], {
      cwd: root,
      env: {
        ...process.env,
        LOADED_MODULES_LOG: log,
        HOST: '127.0.0.1',
        PORT: String(port),
        WARMGATE_API_KEYS: 'off',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    try {
      const url = `http://127.0.0.1:${port}`;
      for (let ready = false; !ready; await sleep(100)) {
        assert.equal(child.exitCode, null, `the gateway exited:\n${output}`);
        ready = await fetch(`${url}/ready`).then(
          (r) => r.ok,
          () => false,
        );
      }
      await use(url);
      const maps = await readFile(`/proc/${child.pid}/maps`, 'utf8');
      assert.ok(!ORT.test(maps), 'an ONNX Runtime library is mapped into the gateway process');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    const loaded = (await readFile(log, 'utf8')).split('\n');
    assert.ok(
      loaded.some((u) => u.endsWith('/gateway/main.ts')),
      'the recording saw the gateway start',
    );
    assert.deepEqual(
      loaded.filter((u) => ORT.test(u)),
      [],
    );
  }

  it('gateway/main.ts starts, serves, and never resolves onnxruntime-node nor maps its library', async () => {
    await recordedGateway(
      'gateway',
      [],
      { WARMGATE_DEPLOYMENTS_FILE: join(dir, 'deployments.json') },
      async (url) => {
        // Requests through the public routes, in case a route loaded something on first use.
        assert.equal((await fetch(`${url}/v1/models`)).status, 200);
        const completion = await fetch(`${url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'absent', prompt: 'hi', temperature: 0.5 }),
        });
        assert.equal(completion.status, 404, await completion.text());
        const infer = await fetch(`${url}/v2/models/absent/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [] }),
        });
        assert.equal(infer.status, 404, await infer.text());
      },
    );
  });

  it('in front of a Hugging Face model it tokenizes and renders chats without ONNX Runtime', async () => {
    // The instance (its own process) runs the model; the gateway only fetches its tokenizer files, and
    // builds and runs the tokenizer on a worker thread. On Node 20 the recording hook does not reach
    // worker threads, but /proc/PID/maps is the whole process's: a worker that loaded ONNX Runtime
    // would map its library there.
    const folder = await tempHfModelFolder('llama');
    const instance = await launchInstance({
      model: folder.dir,
      kind: 'generative',
      args: ['--intra-op-threads', '1', '--kv-mb', '8'],
    });
    try {
      const deployments = join(dir, 'hf-deployments.json');
      const spec = { name: 'llama', kind: 'generative', model: { path: folder.dir }, scaling: SCALING };
      await writeFile(deployments, JSON.stringify({ deployments: [spec] }));
      const hello = readHfGolden('llama');
      const chat = (
        JSON.parse(readFileSync(join(hello.dir, 'golden', 'golden.json'), 'utf8')) as {
          chat: { messages: unknown; ids?: number[] }[];
        }
      ).chat[0]!;
      await recordedGateway(
        'gateway-hf',
        ['--instance', `llama=${instance.url}`],
        { WARMGATE_DEPLOYMENTS_FILE: deployments },
        async (url) => {
          for (const [path, body, promptTokens] of [
            ['chat/completions', { messages: chat.messages }, chat.ids!.length],
            ['completions', { prompt: hello.prompts[0]!.text }, hello.prompts[0]!.ids.length],
          ] as const) {
            const res = await fetch(`${url}/v1/${path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ model: 'llama', max_tokens: 1, ...body }),
            });
            const text = await res.text();
            assert.equal(res.status, 200, text);
            assert.equal(
              (JSON.parse(text) as { usage: { prompt_tokens: number } }).usage.prompt_tokens,
              promptTokens,
            );
          }
        },
      );
    } finally {
      await instance.stop();
      await folder.remove();
    }
  });
});
