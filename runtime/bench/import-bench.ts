/**
 * bench:import: what `warmgate import` costs for a 0.5 B-parameter checkpoint. A checkpoint with
 * Qwen2.5-0.5B's published shapes (24 layers, d_model 896, vocab 151,936, tied, q/k/v biases; random
 * bf16 values, 988 MB in one safetensors file) is written to a temporary folder with a fixture's tokenizer,
 * then imported by the command line in a process of its own, whose time and peak RSS are reported against
 * the checkpoint's size. No downloads: the shapes are what matters to the import's time and memory.
 *
 *   npm run bench:import [-- --json]
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './machine.ts';
import { repoRoot } from './repo-root.ts';

const { values: o } = parseArgs({ options: { json: { type: 'boolean', default: false } } });

/** Qwen2.5-0.5B's config.json as published (transformers v4 spelling). */
const CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 151936,
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  hidden_act: 'silu',
  tie_word_embeddings: true,
  use_sliding_window: false,
  sliding_window: 32768,
  max_window_layers: 21,
  torch_dtype: 'bfloat16',
  bos_token_id: 151643,
  eos_token_id: 151643,
};

function shapes(): [string, number[]][] {
  const c = CONFIG;
  const d = c.hidden_size;
  const kv = (d / c.num_attention_heads) * c.num_key_value_heads;
  const out: [string, number[]][] = [
    ['model.embed_tokens.weight', [c.vocab_size, d]],
    ['model.norm.weight', [d]],
  ];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      [`${p}input_layernorm.weight`, [d]],
      [`${p}post_attention_layernorm.weight`, [d]],
      [`${p}self_attn.q_proj.weight`, [d, d]],
      [`${p}self_attn.q_proj.bias`, [d]],
      [`${p}self_attn.k_proj.weight`, [kv, d]],
      [`${p}self_attn.k_proj.bias`, [kv]],
      [`${p}self_attn.v_proj.weight`, [kv, d]],
      [`${p}self_attn.v_proj.bias`, [kv]],
      [`${p}self_attn.o_proj.weight`, [d, d]],
      [`${p}mlp.gate_proj.weight`, [c.intermediate_size, d]],
      [`${p}mlp.up_proj.weight`, [c.intermediate_size, d]],
      [`${p}mlp.down_proj.weight`, [d, c.intermediate_size]],
    );
  }
  return out;
}

/** Writes model.safetensors from one reused buffer of small finite bf16 values; returns its size and parameters. */
function writeCheckpoint(dir: string): { bytes: number; parameters: number } {
  const all = shapes();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  let parameters = 0;
  for (const [name, shape] of all) {
    const n = shape.reduce((a, b) => a * b, 1);
    parameters += n;
    header[name] = { dtype: 'BF16', shape, data_offsets: [at, at + n * 2] };
    at += n * 2;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const chunk = new Uint16Array(1 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < chunk.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    chunk[i] = 0x3c00 | (x >>> 25) | ((x & 1) << 15); // bf16 around +-0.008..0.016
  }
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, length);
    writeSync(fd, json);
    let left = at;
    while (left > 0) {
      const n = Math.min(left, chunk.byteLength);
      writeSync(fd, new Uint8Array(chunk.buffer, 0, n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG, null, 2));
  const tokenizer = join(repoRoot(), 'test/fixtures/hf/qwen2');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tokenizer, f), join(dir, f));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 2 }));
  return { bytes: statSync(join(dir, 'model.safetensors')).size, parameters };
}

const root = mkdtempSync(join(tmpdir(), 'wg-bench-import-'));
try {
  const src = join(root, 'qwen2.5-0.5b-shaped');
  mkdirSync(src);
  const ckpt = writeCheckpoint(src);
  const main = join(repoRoot(), 'dist/runtime/model/import/main.js');
  const r = spawnSync(process.execPath, [main, src, '--out', join(root, 'out'), '--json'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`import failed (${r.status}): ${r.stderr}`);
  const s = JSON.parse(r.stdout) as {
    seconds: number;
    peak_rss_mb: number;
    weights_mb: number;
    parameters: number;
  };
  const result = {
    checkpoint: 'Qwen2.5-0.5B shapes, random bf16, one safetensors file',
    parameters: s.parameters,
    checkpoint_mb: Number((ckpt.bytes / 2 ** 20).toFixed(1)),
    weights_bin_mb: Number(s.weights_mb.toFixed(1)),
    import_s: Number(s.seconds.toFixed(2)),
    peak_rss_mb: Number(s.peak_rss_mb.toFixed(1)),
    peak_rss_vs_checkpoint: Number((s.peak_rss_mb / (ckpt.bytes / 2 ** 20)).toFixed(3)),
    machine: describeMachine(),
    date: new Date().toISOString(),
  };
  if (o.json) console.log(JSON.stringify(result));
  else console.table(result);
} finally {
  rmSync(root, { recursive: true, force: true });
}
