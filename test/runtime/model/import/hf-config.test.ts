import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  architectureFromConfig,
  ImportError,
  type ImportErrorCode,
} from '../../../../runtime/model/import/index.ts';
import { FIXTURES } from './safetensors-reference.ts';

type Config = Record<string, unknown>;
const fixtureConfig = (name: string): Config =>
  JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8')) as Config;
const archOf = (c: Config) => architectureFromConfig(c).architecture;

/** The fixture's config rewritten in transformers v4's style: rope_theta and rope_scaling. */
function v4Style(name: string): Config {
  const { rope_parameters: rope, ...rest } = fixtureConfig(name) as Config & {
    rope_parameters: Record<string, unknown>;
  };
  const { rope_theta: theta, ...scaling } = rope;
  return {
    ...rest,
    rope_theta: theta,
    rope_scaling: scaling.rope_type === 'default' ? null : scaling,
    transformers_version: '4.46.0',
    torch_dtype: 'float32',
  };
}

function refusal(config: Config, code: ImportErrorCode, ...mentions: string[]): ImportError {
  try {
    architectureFromConfig(config, 'DIR/config.json');
  } catch (e) {
    assert.ok(e instanceof ImportError, `expected an ImportError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.startsWith('DIR/config.json'), e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${m}" in: ${e.message}`);
    return e;
  }
  assert.fail('the config was accepted, but should have been refused');
}

describe('config.json -> Architecture', () => {
  it('reads v4-style configs (rope_theta, rope_scaling) as their v5 fixtures', () => {
    for (const name of ['llama', 'llama3', 'mistral', 'qwen2']) {
      assert.deepEqual(archOf(v4Style(name)), archOf(fixtureConfig(name)), name);
    }
    // Older rope_scaling spells the type `type`.
    const legacy = v4Style('llama3');
    const { rope_type: _, ...scaling } = legacy.rope_scaling as Record<string, unknown>;
    legacy.rope_scaling = { ...scaling, type: 'llama3' };
    assert.deepEqual(archOf(legacy), archOf(fixtureConfig('llama3')));
  });

  it('reads real-world configs: SmolLM2, Qwen2.5, Llama 3.2, GPT-2 as published', () => {
    const smol = {
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      attention_dropout: 0.0,
      bos_token_id: 0,
      eos_token_id: 0,
      hidden_act: 'silu',
      hidden_size: 576,
      initializer_range: 0.041666666666666664,
      intermediate_size: 1536,
      is_llama_config: true,
      max_position_embeddings: 8192,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: 9,
      num_hidden_layers: 30,
      num_key_value_heads: 3,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_interleaved: false,
      rope_scaling: null,
      rope_theta: 100000,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      transformers_version: '4.42.3',
      use_cache: true,
      vocab_size: 49152,
      'transformers.js_config': { kv_cache_dtype: { q4f16: 'float16', fp16: 'float16' } },
    };
    assert.deepEqual(archOf(smol), {
      type: 'decoder-only-transformer',
      vocab_size: 49152,
      context_length: 8192,
      d_model: 576,
      n_layer: 30,
      n_head: 9,
      n_kv_head: 3,
      head_dim: 64,
      d_ff: 1536,
      norm_eps: 1e-5,
      norm: 'rmsnorm',
      position: 'rope',
      rope: { theta: 100000 },
      mlp: 'swiglu',
      qkv_bias: false,
      o_bias: false,
      mlp_bias: false,
      tied_embeddings: true,
    });
    const qwen25 = {
      architectures: ['Qwen2ForCausalLM'],
      attention_dropout: 0.0,
      bos_token_id: 151643,
      eos_token_id: 151643,
      hidden_act: 'silu',
      hidden_size: 896,
      initializer_range: 0.02,
      intermediate_size: 4864,
      max_position_embeddings: 32768,
      max_window_layers: 24,
      model_type: 'qwen2',
      num_attention_heads: 14,
      num_hidden_layers: 24,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      sliding_window: 32768,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      transformers_version: '4.43.1',
      use_cache: true,
      use_sliding_window: false,
      vocab_size: 151936,
    };
    const q = architectureFromConfig(qwen25);
    assert.deepEqual(q.notes, []);
    assert.deepEqual(
      [
        q.architecture.context_length,
        q.architecture.head_dim,
        q.architecture.qkv_bias,
        q.architecture.o_bias,
      ],
      [32768, 64, true, false],
    );
    const llama32 = {
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      attention_dropout: 0.0,
      bos_token_id: 128000,
      eos_token_id: [128001, 128008, 128009],
      head_dim: 64,
      hidden_act: 'silu',
      hidden_size: 2048,
      initializer_range: 0.02,
      intermediate_size: 8192,
      max_position_embeddings: 131072,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: 32,
      num_hidden_layers: 16,
      num_key_value_heads: 8,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_scaling: {
        factor: 32.0,
        high_freq_factor: 4.0,
        low_freq_factor: 1.0,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
      rope_theta: 500000.0,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      transformers_version: '4.45.0.dev0',
      use_cache: true,
      vocab_size: 128256,
    };
    const l = architectureFromConfig(llama32);
    assert.deepEqual(l.eosTokenIds, [128001, 128008, 128009]);
    assert.deepEqual(l.architecture.rope, {
      theta: 500000,
      llama3: {
        factor: 32,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    });
    const gpt2 = {
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      attn_pdrop: 0.1,
      bos_token_id: 50256,
      embd_pdrop: 0.1,
      eos_token_id: 50256,
      initializer_range: 0.02,
      layer_norm_epsilon: 1e-5,
      model_type: 'gpt2',
      n_ctx: 1024,
      n_embd: 768,
      n_head: 12,
      n_layer: 12,
      n_positions: 1024,
      resid_pdrop: 0.1,
      summary_activation: null,
      summary_first_dropout: 0.1,
      summary_proj_to_labels: true,
      summary_type: 'cls_index',
      summary_use_proj: true,
      task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } },
      vocab_size: 50257,
    };
    const g = archOf(gpt2);
    assert.deepEqual(
      [g.context_length, g.d_ff, g.head_dim, g.mlp, g.tied_embeddings],
      [1024, 3072, 64, 'gelu_tanh', true],
    );
  });

  it('imports sliding windows by capping the context at the window, with a note', () => {
    const mistral = { ...fixtureConfig('mistral'), sliding_window: 4096, max_position_embeddings: 32768 };
    const m = architectureFromConfig(mistral);
    assert.equal(m.architecture.context_length, 4096);
    assert.equal(m.notes.length, 1);
    assert.match(m.notes[0]!, /sliding window of 4096 tokens.*context_length is 4096.*32768/);
    // transformers' default window when the field is absent is 4096: above 512 positions, nothing to cap.
    const { sliding_window: _, ...noWindow } = fixtureConfig('mistral');
    assert.equal(archOf(noWindow).context_length, 512);
    assert.equal(archOf({ ...noWindow, max_position_embeddings: 8192 }).context_length, 4096);

    const qwen = fixtureConfig('qwen2');
    const slides = ['full_attention', 'sliding_attention'];
    const on = { ...qwen, use_sliding_window: true, sliding_window: 128, layer_types: slides };
    assert.equal(archOf(on).context_length, 128);
    assert.equal(architectureFromConfig(on).notes.length, 1);
    // v4 style: max_window_layers decides which layers slide; 28 >= 2 layers means none does.
    const { layer_types: _lt, ...v4 } = qwen;
    assert.equal(archOf({ ...v4, use_sliding_window: true, sliding_window: 128 }).context_length, 512);
    assert.equal(
      archOf({ ...v4, use_sliding_window: true, sliding_window: 128, max_window_layers: 1 }).context_length,
      128,
    );
    // A window named while use_sliding_window is false (as Qwen2.5 ships) is off.
    assert.equal(archOf({ ...qwen, sliding_window: 128, use_sliding_window: false }).context_length, 512);
  });

  it('refuses unknown architectures, MoE, quantized and encoder-decoder configs', () => {
    refusal(
      { ...fixtureConfig('llama'), model_type: 'gemma' },
      'architecture_unsupported',
      '"model_type"',
      '"gemma"',
    );
    refusal(
      { ...fixtureConfig('mistral'), num_local_experts: 8, num_experts_per_tok: 2 },
      'architecture_unsupported',
      '"num_local_experts"',
      '8',
      'mixture-of-experts',
    );
    refusal(
      { ...fixtureConfig('qwen2'), num_experts: 60 },
      'architecture_unsupported',
      '"num_experts"',
      '60',
    );
    refusal(
      { ...fixtureConfig('llama'), quantization_config: { quant_method: 'gptq', bits: 4 } },
      'architecture_unsupported',
      '"quantization_config"',
      'gptq',
    );
    refusal(
      { ...fixtureConfig('gpt2'), add_cross_attention: true },
      'architecture_unsupported',
      '"add_cross_attention"',
    );
  });

  it('refuses rope scalings other than default and llama3, in either style', () => {
    const v5 = fixtureConfig('llama');
    for (const type of ['yarn', 'dynamic', 'linear', 'longrope']) {
      refusal(
        { ...v5, rope_parameters: { rope_theta: 10000, rope_type: type, factor: 4 } },
        'architecture_unsupported',
        '"rope_parameters.rope_type"',
        `"${type}"`,
      );
    }
    refusal(
      { ...v4Style('llama'), rope_scaling: { type: 'dynamic', factor: 2 } },
      'architecture_unsupported',
      '"rope_scaling.type"',
      '"dynamic"',
    );
    refusal(
      { ...v5, rope_parameters: { rope_theta: 10000, rope_type: 'default', mrope_section: [2, 2] } },
      'architecture_unsupported',
      '"rope_parameters.mrope_section"',
    );
    const { low_freq_factor: _, ...partial } = fixtureConfig('llama3').rope_parameters as Config;
    refusal(
      { ...fixtureConfig('llama3'), rope_parameters: partial },
      'config_invalid',
      '"rope_parameters.low_freq_factor"',
      'missing',
    );
    refusal({ ...v5, rope_scaling: { rope_type: 'default' } }, 'config_invalid', '"rope_scaling"');
    refusal({ ...v5, rope_interleaved: true }, 'architecture_unsupported', '"rope_interleaved"');
  });

  it('refuses math it does not compute: activations, GPT-2 attention options, head layouts', () => {
    refusal(
      { ...fixtureConfig('llama'), hidden_act: 'gelu' },
      'architecture_unsupported',
      '"hidden_act"',
      '"gelu"',
    );
    const gpt2 = fixtureConfig('gpt2');
    refusal(
      { ...gpt2, scale_attn_by_inverse_layer_idx: true },
      'architecture_unsupported',
      '"scale_attn_by_inverse_layer_idx"',
      'true',
    );
    refusal(
      { ...gpt2, reorder_and_upcast_attn: true },
      'architecture_unsupported',
      '"reorder_and_upcast_attn"',
    );
    refusal(
      { ...gpt2, scale_attn_weights: false },
      'architecture_unsupported',
      '"scale_attn_weights"',
      'false',
    );
    refusal(
      { ...gpt2, activation_function: 'relu' },
      'architecture_unsupported',
      '"activation_function"',
      '"relu"',
    );
    refusal(
      { ...fixtureConfig('llama'), head_dim: 16 },
      'architecture_unsupported',
      '"head_dim"',
      '16',
      'hidden_size (32)',
    );
    refusal(
      { ...fixtureConfig('llama'), num_key_value_heads: 3 },
      'config_invalid',
      '"num_attention_heads"',
      'num_key_value_heads (3)',
    );
    refusal({ ...gpt2, n_head: 5 }, 'config_invalid', '"n_head"', 'n_embd (32)');
  });

  it('refuses fields it does not know, and malformed values, naming them', () => {
    refusal(
      { ...fixtureConfig('llama'), attn_logit_softcapping: 50 },
      'architecture_unsupported',
      '"attn_logit_softcapping"',
      '50',
      'remove it',
    );
    refusal(
      { ...fixtureConfig('mistral'), attention_bias: true },
      'architecture_unsupported',
      '"attention_bias"',
    );
    refusal(
      { ...fixtureConfig('llama'), hidden_size: '32' },
      'config_invalid',
      '"hidden_size"',
      '"32"',
      'positive integer',
    );
    const { vocab_size: _, ...noVocab } = fixtureConfig('qwen2');
    refusal(noVocab, 'config_invalid', '"vocab_size" is missing');
    const { num_key_value_heads: _kv, ...noKv } = fixtureConfig('mistral');
    refusal(noKv, 'config_invalid', '"num_key_value_heads" is missing');
    // Null is how transformers writes "not set": accepted for a field it does not know.
    assert.equal(archOf({ ...fixtureConfig('llama'), some_future_option: null }).d_model, 32);
    // A head count defaults to num_attention_heads for llama, as transformers does.
    const { num_key_value_heads: _k, ...llamaNoKv } = fixtureConfig('llama');
    assert.equal(archOf(llamaNoKv).n_kv_head, 4);
  });
});
