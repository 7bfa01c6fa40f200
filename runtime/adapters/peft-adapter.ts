import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedArchitecture } from '../model/architecture.ts';
import { type LoraGraphSpec, type LoraTarget, loraTargetDims } from '../model/graph/index.ts';
import { ImportError, parseSafetensors, type TensorEntry, tensorValues } from '../model/import/index.ts';
import { AdapterError } from './adapter-error.ts';
import { checkPeftConfig } from './peft-config.ts';

/** One projection's adapter in PEFT's layout: A [rank, in], B [out, rank] with the scale folded in. */
export interface LoraPair {
  readonly a: Float32Array;
  readonly b: Float32Array;
}

/** A checked adapter in host memory, ready to be written into a slot (adapter-memory.ts). */
export interface LoraAdapter {
  readonly rank: number;
  readonly scale: number;
  readonly targets: readonly LoraTarget[];
  /** Per layer, per target. */
  readonly layers: readonly ReadonlyMap<LoraTarget, LoraPair>[];
  /** sha256 of the config and weights (16 hex): part of the prefix-cache key of requests under it. */
  readonly digest: string;
}

// PEFT's names: base_model.model.model.layers.{l}.{self_attn|mlp}.{module}.lora_{A|B}[.{adapter}].weight
const TENSOR =
  /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)(?:\.[\w-]+)?\.weight$/;
/** Where PEFT names each target's module: under self_attn or mlp. */
export const MODULE_PARENT: Record<LoraTarget, 'self_attn' | 'mlp'> = {
  q_proj: 'self_attn',
  k_proj: 'self_attn',
  v_proj: 'self_attn',
  o_proj: 'self_attn',
  gate_proj: 'mlp',
  up_proj: 'mlp',
  down_proj: 'mlp',
};

/**
 * Reads a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) for base model
 * `arch`, refusing at load what the instance cannot serve exactly (AdapterError, stable codes).
 */
export async function loadPeftAdapter(
  dir: string,
  arch: ResolvedArchitecture,
  spec: Pick<LoraGraphSpec, 'maxRank' | 'targets'>,
): Promise<LoraAdapter> {
  const configFile = join(dir, 'adapter_config.json');
  const weightsFile = join(dir, 'adapter_model.safetensors');
  const [configText, weightBytes] = await Promise.all([
    readFile(configFile, 'utf8').catch((e: unknown) => {
      throw new AdapterError(
        'adapter_not_found',
        `cannot read ${configFile}: ${(e as Error).message}: point at a folder PEFT's save_pretrained wrote`,
      );
    }),
    readFile(weightsFile).catch((e: unknown) => {
      throw new AdapterError(
        'adapter_not_found',
        `cannot read ${weightsFile}: ${(e as Error).message}: adapters are read from safetensors (save with safe_serialization=True)`,
      );
    }),
  ]);
  let raw: unknown;
  try {
    raw = JSON.parse(configText);
  } catch (e) {
    throw new AdapterError('adapter_config_invalid', `${configFile} is not JSON: ${(e as Error).message}`);
  }
  const config = checkPeftConfig(raw, configFile, spec.maxRank, spec.targets);
  const tensors = readHeader(weightsFile, weightBytes);
  const found = new Map<string, TensorEntry>();
  for (const [name, t] of tensors) {
    const m = TENSOR.exec(name);
    const mismatch = (what: string) =>
      new AdapterError(
        'adapter_base_mismatch',
        `${weightsFile}: tensor ${name} ${what}: the adapter was trained for another base model`,
      );
    if (!m) {
      const dora = name.includes('lora_magnitude_vector');
      throw new AdapterError(
        'adapter_unsupported',
        `${weightsFile}: tensor ${name} is not a LoRA A or B of a layer's projection${dora ? ' (a DoRA magnitude)' : ''}; only plain LoRA on ${config.targets.join(', ')} is served`,
      );
    }
    const [, layer, parent, module, side] = m;
    const l = Number(layer);
    if (!config.targets.includes(module as LoraTarget) || MODULE_PARENT[module as LoraTarget] !== parent)
      throw new AdapterError(
        'adapter_unsupported',
        `${weightsFile}: tensor ${name} is for module ${parent}.${module}, which adapter_config.json's target_modules does not list`,
      );
    if (l >= arch.n_layer) throw mismatch(`is for layer ${l}, but the base model has ${arch.n_layer} layers`);
    const d = loraTargetDims(arch, module as LoraTarget);
    const want = side === 'A' ? [config.rank, d.in] : [d.out, config.rank];
    if (t.shape.length !== 2 || t.shape[0] !== want[0] || t.shape[1] !== want[1])
      throw mismatch(
        `has shape [${t.shape.join(', ')}]; the base model and r=${config.rank} need [${want.join(', ')}]`,
      );
    found.set(`${l}.${module}.${side}`, t);
  }
  const layers: Map<LoraTarget, LoraPair>[] = [];
  for (let l = 0; l < arch.n_layer; l++) {
    const layer = new Map<LoraTarget, LoraPair>();
    for (const t of config.targets) {
      const ta = found.get(`${l}.${t}.A`);
      const tb = found.get(`${l}.${t}.B`);
      if (!ta || !tb)
        throw new AdapterError(
          'adapter_base_mismatch',
          `${weightsFile}: no lora_${ta ? 'B' : 'A'} for layer ${l}'s ${t}: the base model has ${arch.n_layer} layers and the adapter targets ${t} in each; was it trained for another base model?`,
        );
      const a = readValues(ta, weightsFile, weightBytes);
      const b = readValues(tb, weightsFile, weightBytes);
      for (let i = 0; i < b.length; i++) b[i]! *= config.scale;
      layer.set(t, { a, b });
    }
    layers.push(layer);
  }
  const digest = createHash('sha256').update(configText).update(weightBytes).digest('hex').slice(0, 16);
  return { rank: config.rank, scale: config.scale, targets: config.targets, layers, digest };
}

/**
 * The safetensors header of the file read whole (an adapter is small: one read, no file opened per
 * tensor), its checks (truncation, overlapping spans, bad JSON) as adapter_file_corrupt.
 */
function readHeader(file: string, bytes: Uint8Array): Map<string, TensorEntry> {
  try {
    return parseSafetensors(file, bytes);
  } catch (e) {
    throw asCorrupt(e, file);
  }
}

function readValues(t: TensorEntry, file: string, bytes: Uint8Array): Float32Array {
  let values: Float32Array;
  try {
    values = tensorValues(t, bytes);
  } catch (e) {
    throw asCorrupt(e, file);
  }
  if (!values.every(Number.isFinite))
    throw new AdapterError(
      'adapter_file_corrupt',
      `${file}: tensor ${t.name} holds NaN or infinite values: the adapter is damaged; save it again`,
    );
  return values;
}

function asCorrupt(e: unknown, file: string): AdapterError {
  if (e instanceof ImportError && e.code === 'dtype_unsupported')
    return new AdapterError(
      'adapter_unsupported',
      e.message.replace(/weights.*$/, 'adapter weights: save the adapter unquantized'),
    );
  return new AdapterError(
    'adapter_file_corrupt',
    `${file} cannot be read as safetensors: ${(e as Error).message}`,
    { cause: e },
  );
}
