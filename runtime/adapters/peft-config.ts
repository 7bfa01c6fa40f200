import { LORA_TARGETS, type LoraTarget, MAX_LORA_RANK } from '../model/graph/index.ts';
import { AdapterError } from './adapter-error.ts';

/** What warmgate reads of a PEFT adapter_config.json, checked. */
export interface PeftLoraConfig {
  readonly rank: number;
  /** lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora: folded into B when the adapter loads. */
  readonly scale: number;
  readonly targets: readonly LoraTarget[];
}

const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/**
 * Checks a parsed adapter_config.json: a plain LoRA (no DoRA, no saved full modules, no bias, no
 * per-module ranks, no layer subset) of rank 1..min(64, maxRank) on projections `served` lists.
 */
export function checkPeftConfig(
  raw: unknown,
  file: string,
  maxRank: number,
  served: readonly LoraTarget[],
): PeftLoraConfig {
  const invalid = (m: string) => new AdapterError('adapter_config_invalid', `${file}: ${m}`);
  const unsupported = (m: string) => new AdapterError('adapter_unsupported', `${file}: ${m}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('is not a JSON object');
  const c = raw as Record<string, unknown>;
  if (c.peft_type !== 'LORA')
    throw unsupported(`peft_type is ${shown(c.peft_type)}; warmgate serves LORA adapters only`);
  const r = c.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1)
    throw invalid(`r is ${shown(r)}; a positive integer expected`);
  const limit = Math.min(MAX_LORA_RANK, maxRank);
  if (r > limit)
    throw new AdapterError(
      'adapter_rank_too_large',
      `${file}: r is ${r}; this instance serves ranks up to ${limit}: retrain with r <= ${limit} or raise the instance's adapter maxRank (at most ${MAX_LORA_RANK})`,
    );
  const alpha = c.lora_alpha;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw invalid(`lora_alpha is ${shown(alpha)}; a number expected`);
  if (c.use_dora === true)
    throw unsupported('use_dora is true: DoRA adapters are not served; merge it or train a plain LoRA');
  if (!isEmpty(c.modules_to_save))
    throw unsupported(
      `modules_to_save is ${shown(c.modules_to_save)}: adapters that replace whole modules are not served; train without modules_to_save`,
    );
  if (c.bias !== undefined && c.bias !== 'none')
    throw unsupported(`bias is ${shown(c.bias)}: only bias "none" is served`);
  if (c.lora_bias === true) throw unsupported('lora_bias is true: LoRA biases are not served');
  if (c.fan_in_fan_out === true)
    throw unsupported('fan_in_fan_out is true: Conv1D-style (GPT-2) adapters are not served');
  for (const key of ['rank_pattern', 'alpha_pattern'])
    if (!isEmpty(c[key]))
      throw unsupported(`${key} is ${shown(c[key])}: per-module ranks and alphas are not served`);
  for (const key of [
    'layers_to_transform',
    'layer_replication',
    'target_parameters',
    'trainable_token_indices',
  ])
    if (!isEmpty(c[key]))
      throw unsupported(`${key} is ${shown(c[key])}: not served; target whole projections of every layer`);
  const targets = c.target_modules;
  if (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => typeof t !== 'string'))
    throw unsupported(
      `target_modules is ${shown(targets)}: a list of module names is served (${LORA_TARGETS.join(', ')}), not a pattern`,
    );
  for (const t of targets as string[]) {
    if (!(LORA_TARGETS as readonly string[]).includes(t))
      throw unsupported(
        `target module ${shown(t)} is not served; adapters may target ${LORA_TARGETS.join(', ')}`,
      );
    if (!served.includes(t as LoraTarget))
      throw unsupported(
        `target module ${t} is not among this instance's adapter targets (${served.join(', ')}): add it to the instance's targets`,
      );
  }
  const scale = c.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r;
  return { rank: r, scale, targets: [...new Set(targets as LoraTarget[])] };
}
