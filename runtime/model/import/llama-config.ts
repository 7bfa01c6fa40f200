import type { Architecture } from '../architecture.ts';
import type { ConfigFields, FamilyReader } from './config-fields.ts';
import { ImportError } from './import-error.ts';
import { readRope } from './rope-config.ts';

/** Fields of the Llama family read nowhere because they do not change the math. */
const HARMLESS = [
  'attention_dropout',
  // Llama 2's tensor-parallel slicing of its matmuls: the same products, computed in parts.
  'pretraining_tp',
  // SmolLM's marker.
  'is_llama_config',
  // Qwen2's sliding-window layer count: read when its window is on, inert otherwise.
  'max_window_layers',
];

/**
 * Llama, Mistral and Qwen2 (and SmolLM, which is llama): RMSNorm, RoPE, SwiGLU, grouped-query attention.
 * They differ in biases (Qwen2's q/k/v; Llama's optional attention_bias and mlp_bias) and in sliding
 * windows (Mistral, Qwen2), which are imported by capping the context at the window: attending to every
 * position is exactly sliding-window attention for sequences no longer than the window.
 */
export const llamaArchitecture: FamilyReader = (f, modelType) => {
  const d = f.count('hidden_size');
  const nHead = f.count('num_attention_heads');
  // transformers' own default is the head count for llama only (Mistral's is 8, Qwen2's 32): elsewhere
  // the field is required rather than guessed.
  const nKvHead = f.count('num_key_value_heads', modelType === 'llama' ? nHead : undefined);
  if (nHead % nKvHead !== 0) {
    throw f.invalid(
      'num_attention_heads',
      nHead,
      `a multiple of num_key_value_heads (${nKvHead}), as grouped-query attention needs`,
    );
  }
  if (!f.has('head_dim') && d % nHead !== 0) {
    throw f.invalid(
      'head_dim',
      undefined,
      `set, since hidden_size ${d} is not a multiple of num_attention_heads ${nHead}`,
    );
  }
  const headDim = f.count('head_dim', d / nHead);
  if (headDim * nHead !== d) {
    // The graph and model.json's checks assume heads that tile the hidden state (manifest.ts).
    throw f.unsupported(
      'head_dim',
      headDim,
      `head_dim x num_attention_heads (${headDim * nHead}) differs from hidden_size (${d}); warmgate's graphs need them equal`,
    );
  }
  const nLayer = f.count('num_hidden_layers');
  const maxPositions = f.count('max_position_embeddings');
  const hiddenAct = f.string('hidden_act', 'silu');
  if (hiddenAct !== 'silu') {
    throw f.unsupported(
      'hidden_act',
      hiddenAct,
      'the Llama family is imported with SwiGLU, whose gate is silu',
    );
  }
  if (f.bool('rope_interleaved', false)) {
    throw f.unsupported(
      'rope_interleaved',
      true,
      'warmgate rotates the two halves of each head (rotate_half), not interleaved pairs',
    );
  }
  const attentionBias = modelType === 'llama' && f.bool('attention_bias', false);
  const notes: string[] = [];
  const window = slidingWindow(f, modelType, nLayer);
  let contextLength = maxPositions;
  if (window !== undefined && window < maxPositions) {
    contextLength = window;
    notes.push(
      `${modelType} attends within a sliding window of ${window} tokens; warmgate attends to every position, which is the same for sequences of at most ${window} tokens, so context_length is ${window} (max_position_embeddings is ${maxPositions})`,
    );
  }
  const architecture: Architecture = {
    type: 'decoder-only-transformer',
    vocab_size: f.count('vocab_size'),
    context_length: contextLength,
    d_model: d,
    n_layer: nLayer,
    n_head: nHead,
    n_kv_head: nKvHead,
    head_dim: headDim,
    d_ff: f.count('intermediate_size'),
    norm_eps: f.positive('rms_norm_eps', 1e-6),
    norm: 'rmsnorm',
    position: 'rope',
    rope: readRope(f),
    mlp: 'swiglu',
    qkv_bias: modelType === 'qwen2' || attentionBias,
    o_bias: attentionBias,
    mlp_bias: modelType === 'llama' && f.bool('mlp_bias', false),
    tied_embeddings: f.bool('tie_word_embeddings', false),
  };
  return { architecture, notes, harmless: HARMLESS };
};

/** The attention window in tokens, or undefined when every layer attends to all positions. */
function slidingWindow(f: ConfigFields, modelType: string, nLayer: number): number | undefined {
  const layerTypes = readLayerTypes(f, nLayer);
  let on: boolean;
  if (modelType === 'mistral') {
    // Absent means transformers' default window (4096); null means none.
    if (!f.has('sliding_window')) return 4096;
    on = f.raw('sliding_window') !== undefined;
  } else if (modelType === 'qwen2') {
    // Qwen2 slides only with use_sliding_window, and then only in layers from max_window_layers on.
    const fullLayers = f.raw('max_window_layers') ?? 28;
    if (!Number.isSafeInteger(fullLayers) || (fullLayers as number) < 0) {
      throw f.invalid('max_window_layers', fullLayers, 'a layer count');
    }
    const slides = layerTypes ? layerTypes.includes('sliding_attention') : (fullLayers as number) < nLayer;
    on = f.bool('use_sliding_window', false) && slides;
    // Qwen2.5's configs name a window even when it is off.
    if (!on) f.raw('sliding_window');
  } else {
    on = layerTypes?.includes('sliding_attention') ?? false;
    if (on) {
      throw f.unsupported(
        'layer_types',
        layerTypes,
        `${modelType} has no sliding-window layers in transformers`,
      );
    }
  }
  if (!on) return undefined;
  return f.count('sliding_window');
}

function readLayerTypes(f: ConfigFields, nLayer: number): string[] | undefined {
  const v = f.raw('layer_types');
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== nLayer) {
    throw f.invalid('layer_types', v, `a list of ${nLayer} layer types, one per layer`);
  }
  const odd = v.find((t) => t !== 'full_attention' && t !== 'sliding_attention');
  if (odd !== undefined) {
    throw new ImportError(
      'architecture_unsupported',
      `${f.file}: "layer_types" holds ${JSON.stringify(odd)}; warmgate imports full_attention and sliding_attention layers`,
    );
  }
  return v as string[];
}
