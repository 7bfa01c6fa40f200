import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
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
import { after, describe, it } from 'node:test';

/**
 * A synthetic Llama of ~195 MB in F16 whose largest tensor is 6 MB as float32: holding the checkpoint, or
 * even a few of its tensors at once, would show.
 */
const CONFIG = {
  model_type: 'llama',
  vocab_size: 4096,
  hidden_size: 768,
  intermediate_size: 2048,
  num_hidden_layers: 15,
  num_attention_heads: 12,
  num_key_value_heads: 4,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
};

function tensorShapes(): [string, number[]][] {
  const c = CONFIG;
  const kv = (c.hidden_size / c.num_attention_heads) * c.num_key_value_heads;
  const shapes: [string, number[]][] = [
    ['model.embed_tokens.weight', [c.vocab_size, c.hidden_size]],
    ['model.norm.weight', [c.hidden_size]],
  ];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.push(
      [`${p}input_layernorm.weight`, [c.hidden_size]],
      [`${p}post_attention_layernorm.weight`, [c.hidden_size]],
      [`${p}self_attn.q_proj.weight`, [c.hidden_size, c.hidden_size]],
      [`${p}self_attn.k_proj.weight`, [kv, c.hidden_size]],
      [`${p}self_attn.v_proj.weight`, [kv, c.hidden_size]],
      [`${p}self_attn.o_proj.weight`, [c.hidden_size, c.hidden_size]],
      [`${p}mlp.gate_proj.weight`, [c.intermediate_size, c.hidden_size]],
      [`${p}mlp.up_proj.weight`, [c.intermediate_size, c.hidden_size]],
      [`${p}mlp.down_proj.weight`, [c.hidden_size, c.intermediate_size]],
    );
  }
  return shapes;
}

/** Writes the checkpoint a tensor at a time from one reused buffer of finite f16 values. */
function writeCheckpoint(dir: string): number {
  const header: Record<string, unknown> = {};
  let at = 0;
  const shapes = tensorShapes();
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'F16', shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const pattern = new Uint16Array(CONFIG.vocab_size * CONFIG.hidden_size);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 2654435761) & 0x3bff;
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, length);
    writeSync(fd, json);
    for (const [, shape] of shapes) {
      const bytes = shape.reduce((a, b) => a * b, 1) * 2;
      writeSync(fd, new Uint8Array(pattern.buffer, 0, bytes));
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  return statSync(join(dir, 'model.safetensors')).size;
}

describe('import memory', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'warmgate-import-memory-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('streams: peak memory grows by a fraction of the checkpoint, not by the checkpoint', () => {
    const src = join(root, 'model');
    const out = join(root, 'out');
    mkdirSync(src);
    mkdirSync(out);
    const fileBytes = writeCheckpoint(src);
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'import-child.ts'), src, out],
      { encoding: 'utf8', timeout: 110_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    const r = JSON.parse(child.stdout) as {
      rssBefore: number;
      maxRss: number;
      seconds: number;
      tensors: number;
      byteLength: number;
    };
    assert.equal(r.tensors, 2 + CONFIG.num_hidden_layers * 9);
    const elements = tensorShapes().reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
    assert.ok(r.byteLength >= elements * 4, 'weights.bin holds every value as float32');
    const grew = r.maxRss - r.rssBefore;
    const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
    console.log(
      `checkpoint ${mb(fileBytes)}, peak RSS grew by at most ${mb(grew)}, ${r.seconds.toFixed(1)} s`,
    );
    assert.ok(grew < fileBytes / 4, `peak RSS grew by ${mb(grew)} importing a ${mb(fileBytes)} checkpoint`);
  });
});
