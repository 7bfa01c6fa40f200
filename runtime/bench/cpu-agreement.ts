import { DEFAULT_SAMPLING_PARAMS, Engine, type GenerationEvent } from '../engine/index.ts';
import { type LoadedModel, type LoadOptions, loadModel } from '../model/index.ts';

/**
 * A bench must not time a wrong model: the model as the bench opens it (on the GPU) against the same
 * folder on the CPU, with the host KV pool and the host step graph. Greedy tokens of a few prompts,
 * batched, compared up to each one's first divergence (random weights make near-ties, where float
 * rounding may pick either token), and the worst logprob difference over the compared tokens. Prompt i
 * generates maxTokens + 2i tokens, so the batch shrinks towards the end and the last steps decode one
 * sequence alone (kernels take other paths at one row: a norm over one token splits its width).
 */
export interface CpuAgreement {
  readonly tokens_agreed: number;
  readonly tokens: number;
  readonly worst_logprob_diff: number;
}

async function greedy(
  model: LoadedModel,
  prompts: readonly (readonly number[])[],
  maxTokens: number,
): Promise<{ tokens: number[]; logprobs: number[] }[]> {
  const engine = new Engine(model, { kvCacheBytes: 256 * 2 ** 20, blockSize: 16, maxPrefillChunk: 32 });
  const params = { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, ignoreEos: true, logprobs: 1 };
  const runs = prompts.map(async (prompt, i) => {
    const r = engine.submit({
      prompt: [...prompt],
      params: { ...params, maxTokens: lengthOf(i, maxTokens) },
    });
    if (!r.ok) throw new Error(`agreement prompt refused: ${r.error.message}`);
    const out = { tokens: [] as number[], logprobs: [] as number[] };
    for await (const ev of r.events as AsyncIterable<GenerationEvent>) {
      if (ev.type === 'error') throw new Error(ev.message);
      if (ev.type === 'token') {
        out.tokens.push(ev.token);
        out.logprobs.push(ev.logprob);
      }
    }
    return out;
  });
  const results = await Promise.all(runs);
  await engine.idle();
  return results;
}

/** `model` as the bench opened it; the same folder (`dir`) is opened on the CPU with `cpuLoad`. */
export async function agreementWithCpu(
  model: LoadedModel,
  dir: string,
  cpuLoad: LoadOptions,
  prompts: readonly (readonly number[])[],
  maxTokens = 12,
): Promise<CpuAgreement> {
  const device = await greedy(model, prompts, maxTokens);
  const cpuModel = await loadModel(dir, { ...cpuLoad, executionProviders: ['cpu'] });
  const cpu = await greedy(cpuModel, prompts, maxTokens).finally(() => cpuModel.release());
  let agreed = 0;
  let worst = 0;
  cpu.forEach((want, i) => {
    const got = device[i]!;
    for (let k = 0; k < want.tokens.length; k++) {
      worst = Math.max(worst, Math.abs(got.logprobs[k]! - want.logprobs[k]!));
      if (got.tokens[k] !== want.tokens[k]) break;
      agreed++;
    }
  });
  const tokens = prompts.reduce((n, _, i) => n + lengthOf(i, maxTokens), 0);
  return { tokens_agreed: agreed, tokens, worst_logprob_diff: worst };
}

const lengthOf = (i: number, maxTokens: number) => maxTokens + 2 * i;
