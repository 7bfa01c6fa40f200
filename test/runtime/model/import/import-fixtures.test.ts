import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type Architecture,
  resolveArchitecture,
  weightNames,
} from '../../../../runtime/model/architecture.ts';
import { type HfModel, readHfModel, writeWeights } from '../../../../runtime/model/import/index.ts';
import { FIXTURES, readReference, type ReferenceTensor, writeSafetensors } from './safetensors-reference.ts';

const base = {
  type: 'decoder-only-transformer',
  vocab_size: 512,
  context_length: 512,
  d_model: 32,
  n_layer: 2,
  n_head: 4,
  n_kv_head: 2,
  head_dim: 8,
  d_ff: 64,
  norm_eps: 1e-5,
  norm: 'rmsnorm',
  position: 'rope',
  mlp: 'swiglu',
  qkv_bias: false,
  o_bias: false,
  mlp_bias: false,
} as const;

/** What each fixture's config.json (transformers 5.17, v5 style) describes, written out by hand. */
const EXPECTED = {
  llama: { ...base, rope: { theta: 10000 }, tied_embeddings: false },
  llama3: {
    ...base,
    rope: {
      theta: 500000,
      llama3: {
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 256,
      },
    },
    tied_embeddings: true,
  },
  mistral: { ...base, rope: { theta: 1000000 }, tied_embeddings: false },
  qwen2: { ...base, rope: { theta: 1000000 }, qkv_bias: true, tied_embeddings: true },
  gpt2: {
    type: 'decoder-only-transformer',
    vocab_size: 512,
    context_length: 256,
    d_model: 32,
    n_layer: 2,
    n_head: 4,
    n_kv_head: 4,
    head_dim: 8,
    d_ff: 128,
    norm_eps: 1e-5,
    norm: 'layernorm',
    position: 'learned',
    mlp: 'gelu_tanh',
    qkv_bias: true,
    o_bias: true,
    mlp_bias: true,
    tied_embeddings: true,
  },
} satisfies Record<string, Architecture>;

const TENSOR_COUNT = { llama: 21, llama3: 20, mistral: 21, qwen2: 26, gpt2: 36 };

type Source = { name: string; how: 'copy' | 'transpose' | { third: number } };

/** warmgate name -> HF source, as architecture.ts and HF's modeling code define them, by pattern. */
function llamaSource(name: string): Source {
  const rules: [RegExp, string, Source['how']][] = [
    [/^tok_emb$/, 'model.embed_tokens.weight', 'copy'],
    [/^lm_head$/, 'lm_head.weight', 'copy'],
    [/^ln_f\.w$/, 'model.norm.weight', 'copy'],
    [/^l(\d+)\.ln1\.w$/, 'model.layers.$1.input_layernorm.weight', 'copy'],
    [/^l(\d+)\.ln2\.w$/, 'model.layers.$1.post_attention_layernorm.weight', 'copy'],
    [/^l(\d+)\.w([qkvo])$/, 'model.layers.$1.self_attn.$2_proj.weight', 'transpose'],
    [/^l(\d+)\.b([qkvo])$/, 'model.layers.$1.self_attn.$2_proj.bias', 'copy'],
    [/^l(\d+)\.w_(gate|up|down)$/, 'model.layers.$1.mlp.$2_proj.weight', 'transpose'],
    [/^l(\d+)\.b_(gate|up|down)$/, 'model.layers.$1.mlp.$2_proj.bias', 'copy'],
  ];
  return match(name, rules);
}

function gpt2Source(name: string): Source {
  const third = (part: string) => ({ third: 'qkv'.indexOf(part) });
  const m = /^l(\d+)\.([wb])([qkv])$/.exec(name);
  if (m) {
    return {
      name: `transformer.h.${m[1]}.attn.c_attn.${m[2] === 'w' ? 'weight' : 'bias'}`,
      how: third(m[3]!),
    };
  }
  const rules: [RegExp, string, Source['how']][] = [
    [/^tok_emb$/, 'transformer.wte.weight', 'copy'],
    [/^pos_emb$/, 'transformer.wpe.weight', 'copy'],
    [/^lm_head$/, 'lm_head.weight', 'copy'],
    [/^ln_f\.w$/, 'transformer.ln_f.weight', 'copy'],
    [/^ln_f\.b$/, 'transformer.ln_f.bias', 'copy'],
    [/^l(\d+)\.ln1\.w$/, 'transformer.h.$1.ln_1.weight', 'copy'],
    [/^l(\d+)\.ln1\.b$/, 'transformer.h.$1.ln_1.bias', 'copy'],
    [/^l(\d+)\.ln2\.w$/, 'transformer.h.$1.ln_2.weight', 'copy'],
    [/^l(\d+)\.ln2\.b$/, 'transformer.h.$1.ln_2.bias', 'copy'],
    [/^l(\d+)\.wo$/, 'transformer.h.$1.attn.c_proj.weight', 'copy'],
    [/^l(\d+)\.bo$/, 'transformer.h.$1.attn.c_proj.bias', 'copy'],
    [/^l(\d+)\.fc1$/, 'transformer.h.$1.mlp.c_fc.weight', 'copy'],
    [/^l(\d+)\.b1$/, 'transformer.h.$1.mlp.c_fc.bias', 'copy'],
    [/^l(\d+)\.fc2$/, 'transformer.h.$1.mlp.c_proj.weight', 'copy'],
    [/^l(\d+)\.b2$/, 'transformer.h.$1.mlp.c_proj.bias', 'copy'],
  ];
  return match(name, rules);
}

function match(name: string, rules: [RegExp, string, Source['how']][]): Source {
  for (const [re, source, how] of rules) {
    if (re.test(name)) return { name: name.replace(re, source), how };
  }
  assert.fail(`no rule for ${name}`);
}

/** The values weights.bin must hold for a tensor, by index arithmetic on the reference's values. */
function expected(src: ReferenceTensor, how: Source['how']): { shape: number[]; values: Float64Array } {
  const v = src.values;
  if (how === 'copy') return { shape: src.shape, values: v };
  if (how === 'transpose') {
    const [rows, cols] = src.shape as [number, number];
    const out = new Float64Array(v.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c]!;
    return { shape: [cols, rows], values: out };
  }
  const [rows, cols] = src.shape.length === 1 ? [1, src.shape[0]!] : (src.shape as [number, number]);
  const width = cols / 3;
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) out[r * width + c] = v[r * cols + how.third * width + c]!;
  }
  return { shape: src.shape.length === 1 ? [width] : [rows, width], values: out };
}

/** Every tensor of the fixture's checkpoint, all shards merged. */
function referenceTensors(dir: string): Map<string, ReferenceTensor> {
  const all = new Map<string, ReferenceTensor>();
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
  for (const f of files) for (const [k, v] of readReference(join(dir, f))) all.set(k, v);
  return all;
}

/**
 * Writes the model's weights and checks the file against the sources: sha256, order, 64-byte alignment,
 * shapes and every value. Returns the tensor names.
 */
async function checkImport(dir: string, model: HfModel, file: string): Promise<string[]> {
  const written = await writeWeights(model.plan, file);
  const bytes = readFileSync(file);
  assert.equal(written.byteLength, bytes.length);
  assert.equal(written.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.deepEqual(
    readdirSync(dirname(file)).filter((f) => f.endsWith('.partial')),
    [],
  );
  const names = weightNames(resolveArchitecture(model.config.architecture));
  assert.deepEqual(Object.keys(written.index), names);
  const reference = referenceTensors(dir);
  const sourceOf = model.config.layout === 'gpt2' ? gpt2Source : llamaSource;
  let end = 0;
  for (const tensorName of names) {
    const entry = written.index[tensorName]!;
    assert.equal(entry.offset % 64, 0, `${tensorName} is 64-byte aligned`);
    assert.ok(entry.offset >= end, `${tensorName} follows the previous tensor`);
    assert.ok(entry.offset - end < 64, `${tensorName}: no more padding than alignment needs`);
    end = entry.offset + entry.byteLength;
    const source = sourceOf(tensorName);
    const src = reference.get(source.name);
    assert.ok(src, `${source.name} is in the checkpoint`);
    const want = expected(src, source.how);
    assert.deepEqual(entry.shape, want.shape, tensorName);
    assert.equal(entry.byteLength, want.values.length * 4);
    const got = new Float32Array(bytes.buffer, bytes.byteOffset + entry.offset, want.values.length);
    const bad = got.findIndex((v, i) => v !== want.values[i]);
    assert.equal(bad, -1, `${tensorName}[${bad}] is ${got[bad]}, source says ${want.values[bad]}`);
  }
  assert.equal(end, bytes.length);
  return names;
}

/** A checkpoint of random finite F16 values with the given tensors, plus config.json and tokenizer.json. */
function synthesize(dir: string, config: Record<string, unknown>, shapes: [string, number[]][]): void {
  mkdirSync(dir, { recursive: true });
  let seed = 12345;
  const tensors = shapes.map(([name, shape]) => {
    const bits = new Uint16Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < bits.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bits[i] = (seed >>> 8) & 0xbbff; // sign, exponent below 15 (finite), any mantissa
    }
    return { name, dtype: 'F16', shape, data: new Uint8Array(bits.buffer) };
  });
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
}

describe('import of the Hugging Face fixtures', () => {
  const out = mkdtempSync(join(tmpdir(), 'warmgate-import-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  for (const name of ['llama', 'llama3', 'mistral', 'qwen2', 'gpt2'] as const) {
    it(`${name}: architecture from config.json, and every weight equal to its source`, async () => {
      const dir = join(FIXTURES, name);
      const model = await readHfModel(dir);
      assert.deepEqual(model.config.architecture, EXPECTED[name]);
      assert.deepEqual(model.config.notes, []);
      assert.equal(model.config.layout, name === 'gpt2' ? 'gpt2' : 'llama');

      const names = await checkImport(dir, model, join(out, `${name}.bin`));
      assert.equal(names.length, TENSOR_COUNT[name]);
    });
  }

  it('odd sizes: pads to 64 bytes, and splits and transposes non-square F16 tensors exactly', async () => {
    const llamaDir = join(out, 'odd-llama');
    const [d, ff, v, q, kv] = [12, 20, 37, 12, 4];
    const llamaShapes: [string, number[]][] = [
      ['model.embed_tokens.weight', [v, d]],
      ['lm_head.weight', [v, d]],
      ['model.norm.weight', [d]],
    ];
    for (let l = 0; l < 2; l++) {
      const p = `model.layers.${l}.`;
      llamaShapes.push(
        [`${p}input_layernorm.weight`, [d]],
        [`${p}post_attention_layernorm.weight`, [d]],
        [`${p}self_attn.q_proj.weight`, [q, d]],
        [`${p}self_attn.q_proj.bias`, [q]],
        [`${p}self_attn.k_proj.weight`, [kv, d]],
        [`${p}self_attn.k_proj.bias`, [kv]],
        [`${p}self_attn.v_proj.weight`, [kv, d]],
        [`${p}self_attn.v_proj.bias`, [kv]],
        [`${p}self_attn.o_proj.weight`, [d, q]],
        [`${p}self_attn.o_proj.bias`, [d]],
        [`${p}mlp.gate_proj.weight`, [ff, d]],
        [`${p}mlp.gate_proj.bias`, [ff]],
        [`${p}mlp.up_proj.weight`, [ff, d]],
        [`${p}mlp.up_proj.bias`, [ff]],
        [`${p}mlp.down_proj.weight`, [d, ff]],
        [`${p}mlp.down_proj.bias`, [d]],
      );
    }
    synthesize(
      llamaDir,
      {
        model_type: 'llama',
        vocab_size: v,
        hidden_size: d,
        intermediate_size: ff,
        num_hidden_layers: 2,
        num_attention_heads: 3,
        num_key_value_heads: 1,
        max_position_embeddings: 64,
        attention_bias: true,
        mlp_bias: true,
      },
      llamaShapes,
    );
    const llama = await readHfModel(llamaDir);
    assert.deepEqual(
      [
        llama.config.architecture.qkv_bias,
        llama.config.architecture.o_bias,
        llama.config.architecture.mlp_bias,
      ],
      [true, true, true],
    );
    assert.equal((await checkImport(llamaDir, llama, join(out, 'odd-llama.bin'))).length, 3 + 2 * 16);

    const gpt2Dir = join(out, 'odd-gpt2');
    const gpt2Shapes: [string, number[]][] = [
      ['transformer.wte.weight', [v, d]],
      ['transformer.wpe.weight', [9, d]],
      ['lm_head.weight', [v, d]],
      ['transformer.ln_f.weight', [d]],
      ['transformer.ln_f.bias', [d]],
    ];
    for (let l = 0; l < 2; l++) {
      const p = `transformer.h.${l}.`;
      gpt2Shapes.push(
        [`${p}ln_1.weight`, [d]],
        [`${p}ln_1.bias`, [d]],
        [`${p}ln_2.weight`, [d]],
        [`${p}ln_2.bias`, [d]],
        [`${p}attn.c_attn.weight`, [d, 3 * d]],
        [`${p}attn.c_attn.bias`, [3 * d]],
        [`${p}attn.c_proj.weight`, [d, d]],
        [`${p}attn.c_proj.bias`, [d]],
        [`${p}mlp.c_fc.weight`, [d, ff]],
        [`${p}mlp.c_fc.bias`, [ff]],
        [`${p}mlp.c_proj.weight`, [ff, d]],
        [`${p}mlp.c_proj.bias`, [d]],
      );
    }
    synthesize(
      gpt2Dir,
      {
        model_type: 'gpt2',
        vocab_size: v,
        n_embd: d,
        n_head: 3,
        n_layer: 2,
        n_positions: 9,
        n_inner: ff,
        tie_word_embeddings: false,
      },
      gpt2Shapes,
    );
    const gpt2 = await readHfModel(gpt2Dir);
    assert.equal((await checkImport(gpt2Dir, gpt2, join(out, 'odd-gpt2.bin'))).length, 5 + 2 * 16);
  });

  it('llama3: bf16 weights are widened exactly (and really are bf16 with fractional values)', async () => {
    const dir = join(FIXTURES, 'llama3');
    const reference = readReference(join(dir, 'model.safetensors'));
    assert.ok([...reference.values()].every((t) => t.dtype === 'BF16'));
    const model = await readHfModel(dir);
    const written = await writeWeights(model.plan, join(out, 'llama3-bf16.bin'));
    const bytes = readFileSync(join(out, 'llama3-bf16.bin'));
    const emb = written.index['tok_emb']!;
    const got = new Float32Array(bytes.buffer, bytes.byteOffset + emb.offset, 512 * 32);
    const src = reference.get('model.embed_tokens.weight')!.values;
    assert.ok(src.some((v) => v !== Math.round(v)));
    // Each value is the bf16 value itself: its float32 bits have 16 zero low bits.
    const bits = new Uint32Array(got.buffer, got.byteOffset, got.length);
    assert.ok(bits.every((b) => (b & 0xffff) === 0));
    assert.deepEqual(Array.from(got), Array.from(src));
  });

  it('reads the tokenizer side: tokenizer.json, chat template, eos ids, generation defaults', async () => {
    const llama = await readHfModel(join(FIXTURES, 'llama'));
    assert.equal(llama.tokenizer.tokenizerJson, join(FIXTURES, 'llama', 'tokenizer.json'));
    assert.equal(llama.tokenizer.chatTemplate?.file, join(FIXTURES, 'llama', 'chat_template.jinja'));
    assert.equal(
      llama.tokenizer.chatTemplate?.source,
      readFileSync(join(FIXTURES, 'llama', 'chat_template.jinja'), 'utf8'),
    );
    assert.equal(llama.tokenizer.tokenizerConfig.eos_token, '</s>');
    assert.deepEqual(llama.tokenizer.generation, {
      eosTokenIds: [2],
      bosTokenId: 1,
      fromGenerationConfig: true,
    });
    const llama3 = await readHfModel(join(FIXTURES, 'llama3'));
    assert.deepEqual(llama3.tokenizer.generation.eosTokenIds, [1, 4]);
    const qwen2 = await readHfModel(join(FIXTURES, 'qwen2'));
    // generation_config.json's list, not config.json's single id.
    assert.deepEqual(qwen2.config.eosTokenIds, [2]);
    assert.deepEqual(qwen2.tokenizer.generation.eosTokenIds, [2, 0]);
    const gpt2 = await readHfModel(join(FIXTURES, 'gpt2'));
    assert.equal(gpt2.tokenizer.chatTemplate, undefined);
  });
});
