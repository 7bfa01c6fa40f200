import type { Architecture } from '../architecture.ts';
import type { FamilyReader } from './config-fields.ts';

/** GPT-2 fields that do not change inference: dropouts, the double-heads model's summary head, n_ctx. */
const HARMLESS = [
  'resid_pdrop',
  'embd_pdrop',
  'attn_pdrop',
  'summary_type',
  'summary_use_proj',
  'summary_activation',
  'summary_proj_to_labels',
  'summary_first_dropout',
  // The original configs' duplicate of n_positions; transformers ignores it.
  'n_ctx',
];

/** Activations whose math warmgate's graphs compute: GPT-2's tanh approximation, or exact GELU. */
const ACTIVATIONS: Readonly<Record<string, 'gelu_tanh' | 'gelu'>> = {
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu: 'gelu',
};

/** GPT-2: learned positions, LayerNorm, GELU (tanh), biases everywhere, Conv1D weights, tied head. */
export const gpt2Architecture: FamilyReader = (f) => {
  const d = f.count('n_embd');
  const nHead = f.count('n_head');
  if (d % nHead !== 0) {
    throw f.invalid('n_head', nHead, `a divisor of n_embd (${d})`);
  }
  const activation = f.string('activation_function', 'gelu_new');
  const mlp = ACTIVATIONS[activation];
  if (!mlp) {
    throw f.unsupported(
      'activation_function',
      activation,
      `warmgate imports GPT-2 with ${Object.keys(ACTIVATIONS).join(', ')}`,
    );
  }
  // Options that rescale or reorder attention: refused rather than computed differently.
  if (!f.bool('scale_attn_weights', true)) {
    throw f.unsupported('scale_attn_weights', false, 'warmgate scales attention scores by 1/sqrt(head_dim)');
  }
  for (const name of ['scale_attn_by_inverse_layer_idx', 'reorder_and_upcast_attn']) {
    if (f.bool(name, false)) {
      throw f.unsupported(name, true, 'this changes how attention is computed, which warmgate does not do');
    }
  }
  const architecture: Architecture = {
    type: 'decoder-only-transformer',
    vocab_size: f.count('vocab_size'),
    context_length: f.count('n_positions'),
    d_model: d,
    n_layer: f.count('n_layer'),
    n_head: nHead,
    n_kv_head: nHead,
    head_dim: d / nHead,
    d_ff: f.count('n_inner', 4 * d),
    norm_eps: f.positive('layer_norm_epsilon', 1e-5),
    norm: 'layernorm',
    position: 'learned',
    mlp,
    qkv_bias: true,
    o_bias: true,
    mlp_bias: true,
    tied_embeddings: f.bool('tie_word_embeddings', true),
  };
  return { architecture, notes: [], harmless: HARMLESS };
};
