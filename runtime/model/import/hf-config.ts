import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Architecture } from '../architecture.ts';
import { ConfigFields, type FamilyReader } from './config-fields.ts';
import { gpt2Architecture } from './gpt2-config.ts';
import { ImportError } from './import-error.ts';
import { llamaArchitecture } from './llama-config.ts';

/** How a family names and lays out its tensors (Qwen2, Mistral and SmolLM name theirs as Llama does). */
export type WeightLayout = 'llama' | 'gpt2';

export interface ImportedConfig {
  /** config.json's model_type. */
  readonly modelType: string;
  readonly layout: WeightLayout;
  readonly architecture: Architecture;
  /** What the import changed or assumed that a user should hear about (the CLI prints these). */
  readonly notes: readonly string[];
  /** config.json's eos_token_id (int or list), for when generation_config.json has none. */
  readonly eosTokenIds: readonly number[];
}

/** Fields every family may carry that do not change what the model computes. */
export const HARMLESS_EVERYWHERE: ReadonlySet<string> = new Set([
  'architectures',
  'transformers_version',
  'torch_dtype',
  'dtype',
  '_name_or_path',
  'name_or_path',
  '_commit_hash',
  '_from_model_config',
  '_attn_implementation',
  '_attn_implementation_autoset',
  'attn_implementation',
  'transformers.js_config',
  'use_cache',
  'bos_token_id',
  'pad_token_id',
  'sep_token_id',
  'decoder_start_token_id',
  'initializer_range',
  'output_attentions',
  'output_hidden_states',
  'return_dict',
  'torchscript',
  'use_bfloat16',
  'id2label',
  'label2id',
  'num_labels',
  'problem_type',
  'tokenizer_class',
  'prefix',
  'task_specific_params',
  'finetuning_task',
  'is_decoder',
  'chunk_size_feed_forward',
  'tie_encoder_decoder',
  'cross_attention_hidden_size',
  'gradient_checkpointing',
  // Generation defaults older configs carry (generation_config.json is where they now live).
  'max_length',
  'min_length',
  'do_sample',
  'early_stopping',
  'num_beams',
  'num_beam_groups',
  'diversity_penalty',
  'temperature',
  'top_k',
  'top_p',
  'typical_p',
  'repetition_penalty',
  'length_penalty',
  'no_repeat_ngram_size',
  'encoder_no_repeat_ngram_size',
  'bad_words_ids',
  'num_return_sequences',
  'output_scores',
  'return_dict_in_generate',
  'forced_bos_token_id',
  'forced_eos_token_id',
  'remove_invalid_values',
  'exponential_decay_length_penalty',
  'suppress_tokens',
  'begin_suppress_tokens',
]);

/** Fields of mixture-of-experts configs: named so the refusal says MoE rather than "unknown field". */
const MOE_FIELDS = [
  'num_local_experts',
  'num_experts',
  'num_experts_per_tok',
  'n_routed_experts',
  'n_shared_experts',
  'moe_intermediate_size',
  'shared_expert_intermediate_size',
  'decoder_sparse_step',
  'mlp_only_layers',
  'router_aux_loss_coef',
  'output_router_logits',
  'moe_layer_freq',
];

const FAMILIES: Readonly<Record<string, { layout: WeightLayout; read: FamilyReader }>> = {
  llama: { layout: 'llama', read: llamaArchitecture },
  mistral: { layout: 'llama', read: llamaArchitecture },
  qwen2: { layout: 'llama', read: llamaArchitecture },
  gpt2: { layout: 'gpt2', read: gpt2Architecture },
};

/** Reads DIR/config.json into warmgate's architecture, refusing what it cannot import exactly. */
export async function readConfig(dir: string): Promise<ImportedConfig> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ImportError(
      'config_invalid',
      `cannot read ${file} (${(e as Error).message}); a Hugging Face model folder has config.json beside its weights`,
      { cause: e },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ImportError('config_invalid', `${file} is not JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ImportError('config_invalid', `${file} is not a JSON object`);
  }
  return architectureFromConfig(json as Record<string, unknown>, file);
}

/** The same from a parsed config.json (`file` names it in messages). */
export function architectureFromConfig(
  json: Readonly<Record<string, unknown>>,
  file = 'config.json',
): ImportedConfig {
  const fields = new ConfigFields(file, json);
  const modelType = fields.raw('model_type');
  const family = typeof modelType === 'string' ? FAMILIES[modelType] : undefined;
  if (!family || typeof modelType !== 'string') {
    throw fields.unsupported(
      'model_type',
      modelType,
      `warmgate imports model_type ${Object.keys(FAMILIES).join(', ')} (Llama 2/3/3.x and SmolLM are llama); this checkpoint is another architecture`,
    );
  }
  refuseChangesToTheMath(fields);
  const { architecture, notes, harmless } = family.read(fields, modelType);
  const eosTokenIds = tokenIds(fields, 'eos_token_id');
  fields.refuseOthers(modelType, new Set([...HARMLESS_EVERYWHERE, ...harmless]));
  return { modelType, layout: family.layout, architecture, notes, eosTokenIds };
}

/** Settings any family might carry that would make the imported model compute something else. */
function refuseChangesToTheMath(fields: ConfigFields): void {
  for (const name of MOE_FIELDS) {
    const v = fields.raw(name);
    if (v !== undefined && v !== false && v !== 0) {
      throw fields.unsupported(
        name,
        v,
        'a mixture-of-experts model; warmgate imports dense decoder-only models only',
      );
    }
  }
  const quantization = fields.raw('quantization_config');
  if (quantization !== undefined) {
    throw fields.unsupported(
      'quantization_config',
      quantization,
      'a quantized checkpoint (GPTQ, AWQ, bitsandbytes...); import the unquantized release (warmgate quantizes to int4 itself)',
    );
  }
  for (const name of ['is_encoder_decoder', 'add_cross_attention']) {
    const v = fields.bool(name, false);
    if (v) throw fields.unsupported(name, v, 'warmgate imports decoder-only models without cross-attention');
  }
  const pruned = fields.raw('pruned_heads');
  if (
    pruned !== undefined &&
    (typeof pruned !== 'object' || pruned === null || Object.keys(pruned).length > 0)
  ) {
    throw fields.unsupported('pruned_heads', pruned, 'models with pruned attention heads are not imported');
  }
}

/** An id field that may be an int or a list of ints (eos_token_id). */
function tokenIds(fields: ConfigFields, name: string): number[] {
  const v = fields.raw(name);
  if (v === undefined) return [];
  const ids = Array.isArray(v) ? v : [v];
  if (!ids.every((id) => Number.isSafeInteger(id) && (id as number) >= 0)) {
    throw fields.invalid(name, v, 'a token id or a list of them');
  }
  return ids as number[];
}
