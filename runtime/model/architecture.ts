/**
 * What a decoder-only model computes, as the graph builder needs it: the shapes plus the choices that
 * tell the families apart. warmgate's own demo models are the defaults (GPT-like: LayerNorm, learned
 * positions, exact GELU, tied embeddings, no biases); an imported Llama/Qwen2/Mistral/SmolLM checkpoint
 * sets RMSNorm, RoPE, SwiGLU and its biases; GPT-2 sets LayerNorm, learned positions, tanh GELU and biases
 * everywhere. model.json's `architecture` holds these fields (the optional ones absent on older models).
 */
export interface Architecture {
  type: 'decoder-only-transformer';
  vocab_size: number;
  /** Positions the model may see (the learned table's length, or the RoPE table's). */
  context_length: number;
  d_model: number;
  n_layer: number;
  n_head: number;
  n_kv_head: number;
  head_dim: number;
  d_ff: number;
  norm_eps: number;
  /** Default 'layernorm' (weight and bias); 'rmsnorm' has a weight only. */
  norm?: 'layernorm' | 'rmsnorm';
  /** Default 'learned' (`pos_emb`); 'rope' rotates queries and keys by position (see `rope`). */
  position?: 'learned' | 'rope';
  /** RoPE's settings; required when position is 'rope'. */
  rope?: RopeSettings;
  /** Default 'gelu' (exact, erf); 'gelu_tanh' is GPT-2's approximation; 'swiglu' is silu(gate) * up. */
  mlp?: 'gelu' | 'gelu_tanh' | 'swiglu';
  /** Biases on the q, k, v projections (Qwen2, GPT-2). Default false. */
  qkv_bias?: boolean;
  /** Bias on the attention output projection (GPT-2). Default false. */
  o_bias?: boolean;
  /** Biases on the MLP's projections (GPT-2). Default false. */
  mlp_bias?: boolean;
  /** Logits from the token embedding (default true) or from a separate `lm_head`. */
  tied_embeddings?: boolean;
}

export interface RopeSettings {
  theta: number;
  /** Rotary dimensions; default head_dim (the whole head). */
  dim?: number;
  /** Llama 3.x frequency scaling (HF `rope_type: "llama3"`); absent for plain RoPE. */
  llama3?: {
    factor: number;
    low_freq_factor: number;
    high_freq_factor: number;
    original_max_position_embeddings: number;
  };
}

/** The architecture with every optional choice filled in (the demo models' defaults). */
export type ResolvedArchitecture = Required<Omit<Architecture, 'rope'>> & { rope?: RopeSettings };

export function resolveArchitecture(a: Architecture): ResolvedArchitecture {
  return {
    norm: 'layernorm',
    position: 'learned',
    mlp: 'gelu',
    qkv_bias: false,
    o_bias: false,
    mlp_bias: false,
    tied_embeddings: true,
    ...a,
  };
}

/**
 * The weights file's tensor names and layouts (every graph reads these by name). Linear weights are
 * stored [in, out] so a graph computes x @ W; embeddings [V, d]; `lm_head` [V, d] (HF's layout, read
 * with a transposed Gemm as the tied embedding is).
 *   tok_emb [V,d]; pos_emb [ctx,d] (learned); lm_head [V,d] (untied); ln_f.w [d]; ln_f.b [d] (layernorm)
 *   per layer l: l{l}.ln1.w, l{l}.ln1.b (layernorm), l{l}.wq [d,H*Dh], l{l}.wk, l{l}.wv [d,KVH*Dh],
 *     l{l}.bq, l{l}.bk, l{l}.bv (qkv_bias), l{l}.wo [H*Dh,d], l{l}.bo (o_bias), l{l}.ln2.w, l{l}.ln2.b,
 *     gelu MLP: l{l}.fc1 [d,ff], l{l}.fc2 [ff,d], l{l}.b1 [ff], l{l}.b2 [d] (mlp_bias);
 *     swiglu MLP: l{l}.w_gate [d,ff], l{l}.w_up [d,ff], l{l}.w_down [ff,d] (biases b_gate, b_up, b_down
 *     when mlp_bias).
 * RoPE tables are not weights: the builder computes them from `rope`.
 */
export function weightNames(a: ResolvedArchitecture): string[] {
  const layernorm = a.norm === 'layernorm';
  const names = ['tok_emb'];
  if (a.position === 'learned') names.push('pos_emb');
  if (!a.tied_embeddings) names.push('lm_head');
  names.push('ln_f.w', ...(layernorm ? ['ln_f.b'] : []));
  for (let l = 0; l < a.n_layer; l++) {
    const p = (n: string) => `l${l}.${n}`;
    names.push(p('ln1.w'), ...(layernorm ? [p('ln1.b')] : []), p('wq'), p('wk'), p('wv'));
    if (a.qkv_bias) names.push(p('bq'), p('bk'), p('bv'));
    names.push(p('wo'), ...(a.o_bias ? [p('bo')] : []));
    names.push(p('ln2.w'), ...(layernorm ? [p('ln2.b')] : []));
    if (a.mlp === 'swiglu') {
      names.push(p('w_gate'), p('w_up'), p('w_down'));
      if (a.mlp_bias) names.push(p('b_gate'), p('b_up'), p('b_down'));
    } else {
      names.push(p('fc1'), p('fc2'), ...(a.mlp_bias ? [p('b1'), p('b2')] : []));
    }
  }
  return names;
}
