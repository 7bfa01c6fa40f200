import type { ResolvedArchitecture } from '../architecture.ts';

/** How a source tensor becomes a warmgate tensor. */
export type Transform =
  | { readonly kind: 'copy' }
  /** [rows, cols] -> [cols, rows]: HF Linear's [out, in] to warmgate's [in, out]. */
  | { readonly kind: 'transpose' }
  /** Columns start..start+count of a [rows, cols] source (a 1-D source is one row): GPT-2's fused qkv. */
  | { readonly kind: 'columns'; readonly start: number; readonly count: number };

/** Where one warmgate tensor comes from, and the source shape config.json implies. */
export interface SourceSpec {
  readonly source: string;
  readonly shape: readonly number[];
  /** The shape in config.json's words, for messages. */
  readonly meaning: string;
  readonly transform: Transform;
}

const copy: Transform = { kind: 'copy' };
const transpose: Transform = { kind: 'transpose' };

/**
 * Llama, Mistral, Qwen2 and SmolLM as transformers saves them: `model.` tensors (the prefix is absent
 * when a bare LlamaModel was saved) and a top-level lm_head. Linear weights are [out, in].
 */
export function llamaSources(a: ResolvedArchitecture, prefix: string): Map<string, SourceSpec> {
  const q = a.n_head * a.head_dim;
  const kv = a.n_kv_head * a.head_dim;
  const d = a.d_model;
  const ff = a.d_ff;
  const m = new Map<string, SourceSpec>();
  const add = (name: string, source: string, shape: number[], meaning: string, t = copy) =>
    m.set(name, { source, shape, meaning, transform: t });
  add('tok_emb', `${prefix}embed_tokens.weight`, [a.vocab_size, d], 'vocab_size, hidden_size');
  if (!a.tied_embeddings) add('lm_head', 'lm_head.weight', [a.vocab_size, d], 'vocab_size, hidden_size');
  add('ln_f.w', `${prefix}norm.weight`, [d], 'hidden_size');
  for (let l = 0; l < a.n_layer; l++) {
    const src = (n: string) => `${prefix}layers.${l}.${n}`;
    const dst = (n: string) => `l${l}.${n}`;
    add(dst('ln1.w'), src('input_layernorm.weight'), [d], 'hidden_size');
    const qMeaning = 'num_attention_heads x head_dim';
    const kvMeaning = 'num_key_value_heads x head_dim';
    add(dst('wq'), src('self_attn.q_proj.weight'), [q, d], `${qMeaning}, hidden_size`, transpose);
    add(dst('wk'), src('self_attn.k_proj.weight'), [kv, d], `${kvMeaning}, hidden_size`, transpose);
    add(dst('wv'), src('self_attn.v_proj.weight'), [kv, d], `${kvMeaning}, hidden_size`, transpose);
    if (a.qkv_bias) {
      add(dst('bq'), src('self_attn.q_proj.bias'), [q], qMeaning);
      add(dst('bk'), src('self_attn.k_proj.bias'), [kv], kvMeaning);
      add(dst('bv'), src('self_attn.v_proj.bias'), [kv], kvMeaning);
    }
    add(dst('wo'), src('self_attn.o_proj.weight'), [d, q], `hidden_size, ${qMeaning}`, transpose);
    if (a.o_bias) add(dst('bo'), src('self_attn.o_proj.bias'), [d], 'hidden_size');
    add(dst('ln2.w'), src('post_attention_layernorm.weight'), [d], 'hidden_size');
    const up = 'intermediate_size, hidden_size';
    add(dst('w_gate'), src('mlp.gate_proj.weight'), [ff, d], up, transpose);
    add(dst('w_up'), src('mlp.up_proj.weight'), [ff, d], up, transpose);
    add(dst('w_down'), src('mlp.down_proj.weight'), [d, ff], 'hidden_size, intermediate_size', transpose);
    if (a.mlp_bias) {
      add(dst('b_gate'), src('mlp.gate_proj.bias'), [ff], 'intermediate_size');
      add(dst('b_up'), src('mlp.up_proj.bias'), [ff], 'intermediate_size');
      add(dst('b_down'), src('mlp.down_proj.bias'), [d], 'hidden_size');
    }
  }
  return m;
}

/**
 * GPT-2 as transformers saves it (`transformer.` tensors; OpenAI's original files have no prefix).
 * Conv1D weights are already [in, out]; c_attn fuses q, k and v along its output columns.
 */
export function gpt2Sources(a: ResolvedArchitecture, prefix: string): Map<string, SourceSpec> {
  const d = a.d_model;
  const ff = a.d_ff;
  const m = new Map<string, SourceSpec>();
  const add = (name: string, source: string, shape: number[], meaning: string, t = copy) =>
    m.set(name, { source, shape, meaning, transform: t });
  add('tok_emb', `${prefix}wte.weight`, [a.vocab_size, d], 'vocab_size, n_embd');
  add('pos_emb', `${prefix}wpe.weight`, [a.context_length, d], 'n_positions, n_embd');
  if (!a.tied_embeddings) add('lm_head', 'lm_head.weight', [a.vocab_size, d], 'vocab_size, n_embd');
  add('ln_f.w', `${prefix}ln_f.weight`, [d], 'n_embd');
  add('ln_f.b', `${prefix}ln_f.bias`, [d], 'n_embd');
  for (let l = 0; l < a.n_layer; l++) {
    const src = (n: string) => `${prefix}h.${l}.${n}`;
    const dst = (n: string) => `l${l}.${n}`;
    add(dst('ln1.w'), src('ln_1.weight'), [d], 'n_embd');
    add(dst('ln1.b'), src('ln_1.bias'), [d], 'n_embd');
    ['q', 'k', 'v'].forEach((part, i) => {
      const third: Transform = { kind: 'columns', start: i * d, count: d };
      add(dst(`w${part}`), src('attn.c_attn.weight'), [d, 3 * d], 'n_embd, 3 x n_embd', third);
      add(dst(`b${part}`), src('attn.c_attn.bias'), [3 * d], '3 x n_embd', third);
    });
    add(dst('wo'), src('attn.c_proj.weight'), [d, d], 'n_embd, n_embd');
    add(dst('bo'), src('attn.c_proj.bias'), [d], 'n_embd');
    add(dst('ln2.w'), src('ln_2.weight'), [d], 'n_embd');
    add(dst('ln2.b'), src('ln_2.bias'), [d], 'n_embd');
    add(dst('fc1'), src('mlp.c_fc.weight'), [d, ff], 'n_embd, n_inner');
    add(dst('b1'), src('mlp.c_fc.bias'), [ff], 'n_inner');
    add(dst('fc2'), src('mlp.c_proj.weight'), [ff, d], 'n_inner, n_embd');
    add(dst('b2'), src('mlp.c_proj.bias'), [d], 'n_embd');
  }
  return m;
}

/** Source tensors known not to be weights: RoPE's cached frequencies, GPT-2's causal-mask buffers. */
export const HARMLESS_SOURCES: Readonly<Record<'llama' | 'gpt2', RegExp>> = {
  llama: /^(model\.)?(layers\.\d+\.self_attn\.)?rotary_emb\.inv_freq$/,
  gpt2: /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/,
};

/** The prefix of the checkpoint's tensor names: `model.`/`transformer.`, or none. */
export function namePrefix(layout: 'llama' | 'gpt2', names: { has(name: string): boolean }): string {
  const [withPrefix, probe] =
    layout === 'llama' ? ['model.', 'embed_tokens.weight'] : ['transformer.', 'wte.weight'];
  return !names.has(withPrefix + probe) && names.has(probe) ? '' : withPrefix;
}
