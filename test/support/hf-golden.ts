// The goldens Hugging Face transformers computed for the tiny checkpoints in test/fixtures/hf (written by
// runtime/model/py/make_hf_fixtures.py): prompts, their ids, greedy continuations and logits rows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/bench/repo-root.ts';

// From the repository root: test:gpu runs the tests that read them compiled into dist/.
export const HF_FIXTURES = `${join(repoRoot(), 'test/fixtures/hf')}/`;
export const HF_FAMILIES = ['llama', 'llama3', 'mistral', 'qwen2', 'gpt2'] as const;
export type HfFamily = (typeof HF_FAMILIES)[number];

export interface GoldenPrompt {
  readonly text: string;
  readonly ids: readonly number[];
  /** transformers' greedy continuation (argmax at every step). */
  readonly greedy: readonly number[];
  /** The smallest gap between the top two logits along the continuation: how robust argmax is. */
  readonly minTop2Margin: number;
  /** Logits [ids.length, vocab]: one row per prompt position. */
  readonly prefill: Float32Array;
  /** Logits [greedy.length, vocab]: row i after the first i+1 greedy tokens were appended. */
  readonly decode: Float32Array;
}

export interface HfGolden {
  readonly dir: string;
  readonly vocab: number;
  readonly prompts: readonly GoldenPrompt[];
}

interface RawPrompt {
  text: string;
  ids: number[];
  greedy: number[];
  prefill_logits_row: number;
  decode_logits_row: number;
  min_top2_margin: number;
}

export function readHfGolden(family: HfFamily | string, dir = join(HF_FIXTURES, family)): HfGolden {
  const raw = JSON.parse(readFileSync(join(dir, 'golden', 'golden.json'), 'utf8')) as {
    vocab_size: number;
    logits_rows: number;
    prompts: RawPrompt[];
  };
  const bytes = readFileSync(join(dir, 'golden', 'logits.f32'));
  const V = raw.vocab_size;
  if (bytes.length !== raw.logits_rows * V * 4) {
    throw new Error(
      `${dir}/golden/logits.f32 has ${bytes.length} bytes, expected ${raw.logits_rows} rows of ${V}`,
    );
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const rows = (start: number, n: number) => all.slice(start * V, (start + n) * V);
  return {
    dir,
    vocab: V,
    prompts: raw.prompts.map((p) => ({
      text: p.text,
      ids: p.ids,
      greedy: p.greedy,
      minTop2Margin: p.min_top2_margin,
      prefill: rows(p.prefill_logits_row, p.ids.length),
      decode: rows(p.decode_logits_row, p.greedy.length),
    })),
  };
}

/** log-softmax of a golden logits row at `token`, in float64. */
export function logSoftmaxAt(row: Float32Array, token: number): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return row[token]! - max - Math.log(sum);
}
