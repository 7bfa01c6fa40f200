import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedArchitecture } from '../model/architecture.ts';
import { type LoraTarget, loraTargetDims } from '../model/graph/index.ts';
import { MODULE_PARENT } from './peft-adapter.ts';
import { mulberry32 } from '../random/mulberry32.ts';

/** Uniform in [-0.5, 0.5), seeded: the same seed writes the same adapter. */
function uniform(seed: number): () => number {
  const u = mulberry32(seed);
  return () => u() - 0.5;
}

/**
 * Writes a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors, float32) with
 * seeded random A and B for base model `arch`: what benchmarks and demos load when no trained adapter
 * is at hand. The layout is what PEFT's save_pretrained writes for a Llama-style model.
 */
export async function writeRandomPeftAdapter(
  dir: string,
  arch: ResolvedArchitecture,
  o: { rank: number; alpha?: number; targets: readonly LoraTarget[]; seed: number },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const next = uniform(o.seed);
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (let l = 0; l < arch.n_layer; l++) {
    for (const t of o.targets) {
      const { in: fanIn, out } = loraTargetDims(arch, t);
      const prefix = `base_model.model.model.layers.${l}.${MODULE_PARENT[t]}.${t}`;
      // Scaled so the adapter moves the logits without swamping the base model's.
      const a = Float32Array.from({ length: o.rank * fanIn }, () => next() / Math.sqrt(fanIn));
      const b = Float32Array.from({ length: out * o.rank }, () => next() / Math.sqrt(o.rank));
      tensors.push({ name: `${prefix}.lora_A.weight`, shape: [o.rank, fanIn], data: a });
      tensors.push({ name: `${prefix}.lora_B.weight`, shape: [out, o.rank], data: b });
    }
  }
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + t.data.byteLength] };
    at += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const body = tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  await writeFile(
    join(dir, 'adapter_model.safetensors'),
    Buffer.concat([length, Buffer.from(json), ...body]),
  );
  const config = {
    peft_type: 'LORA',
    r: o.rank,
    lora_alpha: o.alpha ?? 2 * o.rank,
    lora_dropout: 0,
    bias: 'none',
    target_modules: [...o.targets],
    use_dora: false,
    use_rslora: false,
    modules_to_save: null,
    task_type: 'CAUSAL_LM',
  };
  await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(config, null, 2));
}
