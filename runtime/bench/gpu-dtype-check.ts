/**
 * `npm run test:gpu` (on a GPU host; CI has none): imported models at every stored dtype through the
 * engine on ONNX Runtime's WebGPU execution provider, against the same model on the CPU and against
 * Hugging Face transformers' goldens. For each fixture of test/fixtures/hf and each dtype: import, open
 * with ['webgpu', 'cpu'] and with ['cpu'], run the golden prompts batched through the engine (greedy,
 * logprobs), and compare. Exits non-zero on a mismatch; prints one JSON line per case and a summary.
 *
 *   node dist/runtime/bench/gpu-dtype-check.js [--families llama3,qwen2,gpt2] [--out FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SAMPLING_PARAMS, Engine, type GenerationEvent } from '../engine/index.ts';
import { importModel } from '../model/import/index.ts';
import { loadModel, type LoadedModel } from '../model/index.ts';
import { repoRoot } from './repo-root.ts';

const { values: o } = parseArgs({
  options: {
    families: { type: 'string', default: 'llama,llama3,mistral,qwen2,gpt2' },
    out: { type: 'string' },
  },
});

interface GoldenPrompt {
  ids: number[];
  greedy: number[];
}

/** Greedy tokens and their logprobs for every golden prompt, all submitted at once (one batch). */
async function generate(model: LoadedModel, prompts: readonly GoldenPrompt[]) {
  const engine = new Engine(model, {
    kvCacheBytes: 8 << 20,
    blockSize: 4,
    maxPrefillChunk: 8,
    intraOpThreads: 1,
  });
  const params = { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, maxTokens: 8, logprobs: 1 };
  const runs = prompts.map(async (p) => {
    const r = engine.submit({ prompt: [...p.ids], params });
    if (!r.ok) throw new Error(`refused: ${r.error.message}`);
    const tokens: number[] = [];
    const logprobs: number[] = [];
    for await (const ev of r.events as AsyncIterable<GenerationEvent>) {
      if (ev.type === 'error') throw new Error(ev.message);
      if (ev.type === 'token') {
        tokens.push(ev.token);
        logprobs.push(ev.logprob);
      }
    }
    return { tokens, logprobs };
  });
  const out = await Promise.all(runs);
  await engine.idle();
  return out;
}

const families = o.families.split(',');
const dtypes = ['float32', 'float16', 'int4'] as const;
const tmp = mkdtempSync(join(tmpdir(), 'wg-gpu-check-'));
const results: Record<string, unknown>[] = [];
let failures = 0;
try {
  for (const family of families) {
    const fixture = join(repoRoot(), 'test/fixtures/hf', family);
    const golden = JSON.parse(readFileSync(join(fixture, 'golden/golden.json'), 'utf8')) as {
      prompts: GoldenPrompt[];
    };
    for (const dtype of dtypes) {
      const dir = join(tmp, `${family}-${dtype}`);
      await importModel(fixture, dir, { dtype });
      const cpu = await loadModel(dir, { intraOpThreads: 1, executionProviders: ['cpu'] });
      const t0 = performance.now();
      let gpu: LoadedModel;
      try {
        // As a GPU instance runs it: the KV pool on the device.
        gpu = await loadModel(dir, {
          intraOpThreads: 1,
          executionProviders: ['webgpu', 'cpu'],
          deviceKv: 'float32',
        });
      } catch (e) {
        await cpu.release();
        results.push({
          family,
          dtype,
          ok: false,
          error: `webgpu refused the model: ${(e as Error).message}`,
        });
        failures++;
        continue;
      }
      const loadMs = performance.now() - t0;
      const [onCpu, onGpu] = [await generate(cpu, golden.prompts), await generate(gpu, golden.prompts)];
      let maxLogprobDiff = 0;
      let sameTokens = true;
      let goldenTokens = true;
      onGpu.forEach((g, i) => {
        if (g.tokens.join() !== onCpu[i]!.tokens.join()) sameTokens = false;
        if (g.tokens.join() !== golden.prompts[i]!.greedy.join()) goldenTokens = false;
        g.logprobs.forEach(
          (lp, j) => (maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(lp - onCpu[i]!.logprobs[j]!))),
        );
      });
      // Tokens must match the CPU's exactly at every dtype (same weights, same greedy rule) unless two
      // logits are closer than the providers' rounding; and transformers' at float32 and float16.
      const ok = maxLogprobDiff <= 1e-3 && (dtype === 'int4' || goldenTokens);
      if (!ok) failures++;
      results.push({
        family,
        dtype,
        ok,
        webgpu_load_ms: Math.round(loadMs),
        same_tokens_as_cpu: sameTokens,
        transformers_greedy: goldenTokens,
        max_logprob_diff_vs_cpu: Number(maxLogprobDiff.toExponential(2)),
      });
      console.log(JSON.stringify(results.at(-1)));
      await cpu.release();
      await gpu.release();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const summary = { cases: results.length, failures, date: new Date().toISOString(), results };
if (o.out) writeFileSync(o.out, `${JSON.stringify(summary, null, 2)}\n`);
console.log(`${results.length} cases, ${failures} failed`);
process.exitCode = failures ? 1 : 0;
