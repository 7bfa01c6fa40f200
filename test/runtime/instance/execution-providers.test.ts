import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableExecutionProviders } from '../../../runtime/instance/detect-providers.ts';
import { chooseExecutionProviders } from '../../../runtime/instance/execution-providers.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { loadReport } from '../../../runtime/instance/load-report.ts';
import { ModelLoadError } from '../../../runtime/model/index.ts';
import { instanceExit, listen, MODELS } from './helpers.ts';

const fallback = (p: string, to = 'cpu') =>
  `execution provider ${p} is not available in this ONNX Runtime build; falling back to ${to}`;

describe('chooseExecutionProviders', () => {
  const cases: [string, string[], string[], boolean, { providers: string[]; warnings: string[] }][] = [
    ['cpu when nothing is asked', [], ['cpu'], false, { providers: ['cpu'], warnings: [] }],
    ['cpu asked and present', ['cpu'], ['cpu', 'webgpu'], true, { providers: ['cpu'], warnings: [] }],
    [
      'a missing provider falls back to cpu with one warning',
      ['cuda'],
      ['cpu'],
      false,
      { providers: ['cpu'], warnings: [fallback('cuda')] },
    ],
    [
      'a missing provider falls back to the next one asked for',
      ['tensorrt', 'cuda'],
      ['cpu', 'cuda'],
      false,
      { providers: ['cuda', 'cpu'], warnings: [fallback('tensorrt', 'cuda')] },
    ],
    [
      'every missing provider warns, in order',
      ['tensorrt', 'cuda', 'tensorrt'],
      ['cpu'],
      false,
      { providers: ['cpu'], warnings: [fallback('tensorrt'), fallback('cuda')] },
    ],
    [
      'present providers keep their order, cpu last',
      ['cuda', 'tensorrt'],
      ['cpu', 'cuda', 'tensorrt'],
      true,
      { providers: ['cuda', 'tensorrt', 'cpu'], warnings: [] },
    ],
    [
      'cpu asked first stays first',
      ['cpu', 'cuda'],
      ['cpu', 'cuda'],
      false,
      { providers: ['cpu', 'cuda'], warnings: [] },
    ],
  ];
  for (const [name, requested, available, required, want] of cases) {
    it(name, () => {
      assert.deepEqual(chooseExecutionProviders(requested, available, required), { ok: true, ...want });
    });
  }

  it('refuses a missing provider that is required, naming it and what the build has', () => {
    const r = chooseExecutionProviders(['cuda', 'cpu'], ['cpu', 'webgpu'], true);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'execution_provider_unavailable');
    assert.match(!r.ok ? r.message : '', /execution provider cuda is not available .*\(it has cpu, webgpu\)/);
  });
});

// A GPU provider this build lacks (on the CPU-only package: both); skipped where both are installed.
const missing = ['cuda', 'tensorrt'].find((p) => !availableExecutionProviders().includes(p));

describe('runtime instance execution providers', { timeout: 60_000, skip: !missing }, () => {
  it('refuses to start when a required provider is missing', async () => {
    const inst = new RuntimeInstance({
      modelDir: `${MODELS}tiny`,
      kind: 'generative',
      engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
      executionProviders: [missing!],
      requireExecutionProvider: true,
    });
    try {
      await assert.rejects(inst.start(), (e: unknown) => {
        assert.ok(e instanceof ModelLoadError);
        assert.equal(e.code, 'execution_provider_unavailable');
        return true;
      });
      assert.equal(inst.engine, null, 'nothing was loaded');
    } finally {
      await inst.stop();
    }
  });

  it('falls back to cpu with one warning when the provider is not required', async () => {
    const warnings: string[] = [];
    const inst = new RuntimeInstance({
      modelDir: `${MODELS}tiny`,
      kind: 'generative',
      engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
      executionProviders: [missing!],
      warn: (m) => warnings.push(m),
    });
    try {
      await inst.start();
      assert.deepEqual(warnings, [fallback(missing!)]);
      assert.equal(inst.state, 'ready');
      assert.equal(loadReport(inst).executionProvider, 'cpu');
    } finally {
      await inst.stop();
    }
  });

  it('the process exits 1 with the reason when --ep-required cannot be met', async () => {
    const { code, stderr: err } = await instanceExit(['--ep', missing!, '--ep-required']);
    assert.equal(code, 1);
    assert.match(
      err,
      new RegExp(`execution_provider_unavailable.*execution provider ${missing} is not available`),
    );
  });
});

// WebGPU is built into the npm package, so it is "available"; on a host with no GPU adapter (CI: no GPU,
// no Vulkan loader) opening a model on it fails. Skipped where WebGPU finds an adapter (a GPU host, where
// npm run test:gpu covers it).
const webgpuHasNoAdapter = async (): Promise<boolean> => {
  const inst = new RuntimeInstance({
    modelDir: `${MODELS}tiny`,
    kind: 'generative',
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
    executionProviders: ['webgpu'],
    warn: () => undefined,
  });
  try {
    await inst.start();
    return inst.executionProvider !== 'webgpu';
  } finally {
    await inst.stop();
  }
};

describe('webgpu on a host without a GPU adapter', { timeout: 60_000 }, () => {
  it('serves from the CPU with one warning that says what WebGPU needs; /load and /metrics say cpu', async (t) => {
    if (!(await webgpuHasNoAdapter())) return t.skip('this host has a WebGPU adapter');
    const warnings: string[] = [];
    const inst = new RuntimeInstance({
      modelDir: `${MODELS}tiny`,
      kind: 'generative',
      engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
      executionProviders: ['webgpu', 'cpu'],
      warn: (m) => warnings.push(m),
    });
    try {
      await inst.start();
      assert.equal(inst.state, 'ready');
      assert.equal(loadReport(inst).executionProvider, 'cpu');
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(
        warnings[0]!,
        /execution provider webgpu could not open the model: .*Vulkan loader.*serving from the CPU/s,
      );
      const { url, server } = await listen(inst);
      try {
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.match(metrics, /warmgate_runtime_info\{[^}]*execution_provider="cpu"[^}]*\} 1/);
      } finally {
        server.close();
      }
    } finally {
      await inst.stop();
    }
  });

  it('with --ep-required the process exits 1 naming the provider and what it needs', async (t) => {
    if (!(await webgpuHasNoAdapter())) return t.skip('this host has a WebGPU adapter');
    const { code, stderr: err } = await instanceExit(['--ep', 'webgpu', '--ep-required']);
    assert.equal(code, 1);
    assert.match(
      err,
      /execution_provider_unavailable.*execution provider webgpu could not open the model.*it is required/s,
    );
  });
});
