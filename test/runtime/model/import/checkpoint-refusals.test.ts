import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readHfModel, writeWeights } from '../../../../runtime/model/import/index.ts';
import { refusal } from './refusal.ts';
import { copyFixture, editJson, rawTensors, writeSafetensors } from './safetensors-reference.ts';

describe('checkpoint, plan and tokenizer refusals', () => {
  const root = mkdtempSync(join(tmpdir(), 'warmgate-import-refusals-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const copy = (name: string) => copyFixture(name, join(root, `c${n++}`));

  /** Rewrites the folder's model.safetensors with `change` applied to its tensor list. */
  function rewrite(dir: string, change: (t: ReturnType<typeof rawTensors>) => ReturnType<typeof rawTensors>) {
    const file = join(dir, 'model.safetensors');
    writeSafetensors(
      file,
      change(rawTensors(file)).map((t) => ({ ...t, data: Buffer.from(t.data) })),
    );
  }

  it('refuses a missing shard, naming it', async () => {
    const dir = copy('mistral');
    rmSync(join(dir, 'model-00002-of-00003.safetensors'));
    await refusal(
      readHfModel(dir),
      'checkpoint_incomplete',
      'model-00002-of-00003.safetensors',
      'model.safetensors.index.json',
      'download every shard',
    );
  });

  it('refuses a tensor the index places in a shard that does not hold it', async () => {
    const dir = copy('mistral');
    editJson(join(dir, 'model.safetensors.index.json'), (j) => {
      (j.weight_map as Record<string, string>)['model.norm.weight'] = 'model-00001-of-00003.safetensors';
    });
    await refusal(
      readHfModel(dir),
      'checkpoint_incomplete',
      '"model.norm.weight"',
      'model-00001-of-00003.safetensors does not hold it',
    );
    editJson(join(dir, 'model.safetensors.index.json'), (j) => {
      (j.weight_map as Record<string, string>)['model.norm.weight'] = '../elsewhere.safetensors';
    });
    await refusal(readHfModel(dir), 'checkpoint_corrupt', '"../elsewhere.safetensors"');
  });

  it('refuses a folder without safetensors weights', async () => {
    const dir = copy('llama');
    rmSync(join(dir, 'model.safetensors'));
    await refusal(readHfModel(dir), 'checkpoint_incomplete', 'neither model.safetensors nor');
  });

  it('refuses unknown model_type, MoE and unknown rope types from the folder, before the weights', async () => {
    const dir = copy('llama');
    // The weights are broken too: config.json is refused first, so they are never opened.
    truncateSync(join(dir, 'model.safetensors'), 100);
    editJson(join(dir, 'config.json'), (c) => (c.model_type = 'falcon'));
    await refusal(
      readHfModel(dir),
      'architecture_unsupported',
      '"model_type"',
      '"falcon"',
      join(dir, 'config.json'),
    );
    editJson(join(dir, 'config.json'), (c) =>
      Object.assign(c, { model_type: 'llama', num_local_experts: 8 }),
    );
    await refusal(readHfModel(dir), 'architecture_unsupported', '"num_local_experts"', 'mixture-of-experts');
    editJson(join(dir, 'config.json'), (c) => {
      delete c.num_local_experts;
      c.rope_parameters = { rope_type: 'yarn', rope_theta: 10000, factor: 4 };
    });
    await refusal(readHfModel(dir), 'architecture_unsupported', '"rope_parameters.rope_type"', '"yarn"');
  });

  it('refuses shapes that disagree with config.json, naming tensor, expected and found shapes', async () => {
    const dir = copy('llama');
    editJson(join(dir, 'config.json'), (c) => (c.intermediate_size = 128));
    await refusal(
      readHfModel(dir),
      'checkpoint_mismatch',
      '"model.layers.0.mlp.gate_proj.weight"',
      'has shape [64, 32]',
      'implies [128, 32] (intermediate_size, hidden_size)',
    );
    const gpt2 = copy('gpt2');
    editJson(join(gpt2, 'config.json'), (c) => (c.n_positions = 512));
    await refusal(
      readHfModel(gpt2),
      'checkpoint_mismatch',
      '"transformer.wpe.weight"',
      '[256, 32]',
      '[512, 32]',
    );
  });

  it('refuses a missing tensor, and tensors the architecture does not have', async () => {
    const missing = copy('llama');
    rewrite(missing, (ts) => ts.filter((t) => t.name !== 'model.norm.weight'));
    await refusal(readHfModel(missing), 'checkpoint_incomplete', '"model.norm.weight"');

    const extra = copy('llama');
    const norm = {
      name: 'model.layers.0.self_attn.q_norm.weight',
      dtype: 'F32',
      shape: [8],
      data: new Uint8Array(32),
    };
    rewrite(extra, (ts) => [...ts, norm]);
    await refusal(readHfModel(extra), 'checkpoint_mismatch', '"model.layers.0.self_attn.q_norm.weight"');
  });

  it('ignores known-harmless tensors: rotary buffers, GPT-2 masks and a tied head equal to the embedding', async () => {
    const llama = copy('llama');
    const invFreq = {
      name: 'model.layers.1.self_attn.rotary_emb.inv_freq',
      dtype: 'F32',
      shape: [4],
      data: new Uint8Array(16),
    };
    rewrite(llama, (ts) => [...ts, invFreq]);
    assert.deepEqual((await readHfModel(llama)).plan.ignored, [invFreq.name]);

    const qwen = copy('qwen2');
    rewrite(qwen, (ts) => [
      ...ts,
      { ...ts.find((t) => t.name === 'model.embed_tokens.weight')!, name: 'lm_head.weight' },
    ]);
    assert.deepEqual((await readHfModel(qwen)).plan.ignored, ['lm_head.weight']);
    const differs = copy('qwen2');
    rewrite(differs, (ts) => {
      const emb = ts.find((t) => t.name === 'model.embed_tokens.weight')!;
      const data = Buffer.from(emb.data);
      data[1000] = data[1000]! ^ 1;
      return [...ts, { ...emb, name: 'lm_head.weight', data }];
    });
    await refusal(readHfModel(differs), 'checkpoint_mismatch', '"lm_head.weight"', 'tie_word_embeddings');
  });

  it("reads OpenAI's GPT-2 layout (no transformer. prefix, attention mask buffers) to the same weights", async () => {
    const plain = await readHfModel(copy('gpt2'));
    const dir = copy('gpt2');
    const mask = new Float32Array(256 * 256).map((_, i) => (i % 256 <= Math.floor(i / 256) ? 1 : 0));
    rewrite(dir, (ts) => [
      ...ts.map((t) => ({ ...t, name: t.name.replace(/^transformer\./, '') })),
      ...[0, 1].map((l) => ({
        name: `h.${l}.attn.bias`,
        dtype: 'F32',
        shape: [1, 1, 256, 256],
        data: new Uint8Array(mask.buffer),
      })),
      {
        name: 'h.0.attn.masked_bias',
        dtype: 'F32',
        shape: [],
        data: new Uint8Array(new Float32Array([-1e4]).buffer),
      },
    ]);
    const openai = await readHfModel(dir);
    assert.equal(openai.plan.ignored.length, 3);
    const a = await writeWeights(plain.plan, join(root, 'plain.bin'));
    const b = await writeWeights(openai.plan, join(root, 'openai.bin'));
    assert.equal(b.sha256, a.sha256);
  });

  it('refuses integer (quantized) weights, naming the tensor and dtype', async () => {
    const dir = copy('llama');
    rewrite(dir, (ts) =>
      ts.map((t) => (t.name === 'model.layers.0.self_attn.q_proj.weight' ? { ...t, dtype: 'I32' } : t)),
    );
    await refusal(
      readHfModel(dir),
      'dtype_unsupported',
      '"model.layers.0.self_attn.q_proj.weight"',
      'dtype I32',
    );
  });

  it('refuses a folder without tokenizer.json', async () => {
    const dir = copy('qwen2');
    rmSync(join(dir, 'tokenizer.json'));
    await refusal(readHfModel(dir), 'tokenizer_missing', dir, 'no tokenizer.json', 'save_pretrained');
  });

  it('leaves nothing behind when writing fails', async () => {
    const dir = copy('llama');
    const model = await readHfModel(dir);
    truncateSync(join(dir, 'model.safetensors'), 150_000);
    const out = join(root, 'failed');
    mkdirSync(out);
    await refusal(
      writeWeights(model.plan, join(out, 'weights.bin')),
      'checkpoint_corrupt',
      'model.safetensors',
    );
    assert.deepEqual(readdirSync(out), []);
    assert.equal(existsSync(join(out, 'weights.bin')), false);
  });
});
