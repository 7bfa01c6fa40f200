// An instance reports how its start went, by phase: loading the model and the warm-up inference (on a
// GPU also the device's opening and the weights' upload), on /metrics and in its ready line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { listen, MODELS } from './helpers.ts';

describe('start phases', { timeout: 60_000 }, () => {
  it('are on /metrics once ready, each the time start() spent there', async () => {
    const inst = new RuntimeInstance({ modelDir: `${MODELS}tiny`, kind: 'generative' });
    assert.equal(inst.startPhases, null);
    const t = performance.now();
    await inst.start();
    const total = performance.now() - t;
    try {
      const p = inst.startPhases!;
      assert.ok(p.load > 0 && p.warmUp > 0, JSON.stringify(p));
      assert.ok(p.load + p.warmUp <= total + 1, `${p.load} + ${p.warmUp} within start()'s ${total} ms`);
      assert.equal(p.device, undefined, 'a CPU instance has no device phase');
      const { url, server } = await listen(inst);
      try {
        const metrics = await (await fetch(`${url}/metrics`)).text();
        for (const [phase, ms] of [
          ['load', p.load],
          ['warm_up', p.warmUp],
        ] as const) {
          const m = new RegExp(
            `warmgate_runtime_start_phase_seconds\\{[^}]*phase="${phase}"[^}]*\\} (\\S+)`,
          ).exec(metrics);
          assert.ok(m, `${phase} on /metrics`);
          assert.ok(
            Math.abs(Number(m[1]) - ms / 1000) < 1e-6,
            `${phase}: ${m[1]} s, start() measured ${ms} ms`,
          );
        }
      } finally {
        server.close();
      }
    } finally {
      await inst.stop();
    }
  });

  it("are in the process's ready line", async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'runtime/instance/main.ts', '--model', `${MODELS}tiny`, '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      while (!/instance ready/.test(out)) await once(child.stdout, 'data');
      assert.match(out, /instance ready: \S+ on cpu: load \d+ ms, warm-up \d+ ms/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
