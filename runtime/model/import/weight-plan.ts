import {
  type Architecture,
  resolveArchitecture,
  type ResolvedArchitecture,
  weightNames,
} from '../architecture.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { WeightLayout } from './hf-config.ts';
import { ImportError } from './import-error.ts';
import { READABLE_DTYPES, readTensor, tensorChunks, type TensorEntry } from './safetensors.ts';
import {
  gpt2Sources,
  HARMLESS_SOURCES,
  llamaSources,
  namePrefix,
  type SourceSpec,
  type Transform,
} from './weight-sources.ts';

export type { Transform } from './weight-sources.ts';

/** One tensor of weights.bin: its name and shape there, the source tensor and how it is converted. */
export interface PlannedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly source: TensorEntry;
  readonly transform: Transform;
}

/** Every tensor of weights.bin in weightNames order, each checked against its source's header. */
export interface WeightPlan {
  readonly architecture: ResolvedArchitecture;
  readonly tensors: readonly PlannedTensor[];
  /** Source tensors left out because they are known not to be weights (RoPE buffers, masks, a tied head). */
  readonly ignored: readonly string[];
}

/**
 * Maps each warmgate tensor to its source and checks, from the headers alone, that every source exists
 * with the shape config.json implies and a readable dtype, and that no source is left unexplained. The one
 * data read: a tied model's stray lm_head.weight is compared with the embedding (streamed).
 */
export async function planWeights(
  architecture: Architecture,
  layout: WeightLayout,
  checkpoint: Checkpoint,
): Promise<WeightPlan> {
  const a = resolveArchitecture(architecture);
  const prefix = namePrefix(layout, checkpoint.tensors);
  const specs = layout === 'llama' ? llamaSources(a, prefix) : gpt2Sources(a, prefix);
  const tensors = weightNames(a).map((name) => {
    const spec = specs.get(name);
    if (!spec) throw new Error(`no source for ${name}: weight-sources.ts and weightNames disagree`);
    return {
      name,
      shape: outputShape(spec),
      source: checkedSource(checkpoint, spec),
      transform: spec.transform,
    };
  });
  const used = new Set(tensors.map((t) => t.source.name));
  const ignored: string[] = [];
  const unexpected: string[] = [];
  for (const name of checkpoint.tensors.keys()) {
    if (used.has(name)) continue;
    if (HARMLESS_SOURCES[layout].test(name)) ignored.push(name);
    else if (name === 'lm_head.weight' && a.tied_embeddings) {
      const embedding = tensors.find((t) => t.name === 'tok_emb')!.source;
      await checkTiedHead(checkpoint.tensors.get(name)!, embedding);
      ignored.push(name);
    } else unexpected.push(name);
  }
  if (unexpected.length) {
    const shown = unexpected
      .slice(0, 5)
      .map((n) => `"${n}"`)
      .join(', ');
    throw new ImportError(
      'checkpoint_mismatch',
      `the checkpoint holds ${unexpected.length} tensor${unexpected.length > 1 ? 's' : ''} that a ${layout}-style model with this config.json does not have: ${shown}${unexpected.length > 5 ? ', ...' : ''}; it is another architecture or variant, which warmgate does not import`,
    );
  }
  return { architecture: a, tensors, ignored };
}

function checkedSource(checkpoint: Checkpoint, spec: SourceSpec): TensorEntry {
  const t = checkpoint.tensors.get(spec.source);
  if (!t) {
    throw new ImportError(
      'checkpoint_incomplete',
      `the checkpoint (${checkpoint.files.join(', ')}) has no tensor "${spec.source}", which config.json's model needs; the weights are incomplete or from another model`,
    );
  }
  if (t.shape.length !== spec.shape.length || t.shape.some((n, i) => n !== spec.shape[i])) {
    throw new ImportError(
      'checkpoint_mismatch',
      `tensor "${t.name}" in ${t.file} has shape [${t.shape.join(', ')}], but config.json implies [${spec.shape.join(', ')}] (${spec.meaning}); the weights and config.json come from different models`,
    );
  }
  if (!READABLE_DTYPES.includes(t.dtype)) {
    throw new ImportError(
      'dtype_unsupported',
      `tensor "${t.name}" in ${t.file} has dtype ${t.dtype}; warmgate reads ${READABLE_DTYPES.join(', ')} weights (quantized checkpoints are not imported): use the unquantized release`,
    );
  }
  return t;
}

function outputShape(spec: SourceSpec): number[] {
  const s = spec.shape;
  switch (spec.transform.kind) {
    case 'copy':
      return [...s];
    case 'transpose':
      return [s[1]!, s[0]!];
    case 'columns':
      return s.length === 1 ? [spec.transform.count] : [s[0]!, spec.transform.count];
  }
}

/** A tied model may still save lm_head.weight; it is dropped only if it is the embedding. */
async function checkTiedHead(head: TensorEntry, embedding: TensorEntry): Promise<void> {
  const differ = () =>
    new ImportError(
      'checkpoint_mismatch',
      `config.json ties the output head to the embedding (tie_word_embeddings), but "lm_head.weight" in ${head.file} differs from "${embedding.name}"; set "tie_word_embeddings": false if the model has its own head`,
    );
  if (head.shape.join() !== embedding.shape.join()) throw differ();
  if (head.dtype === embedding.dtype) {
    const embeddingChunks = tensorChunks(embedding);
    try {
      for await (const { bytes } of tensorChunks(head)) {
        const other = await embeddingChunks.next();
        if (other.done || Buffer.compare(bytes, other.value.bytes) !== 0) throw differ();
      }
    } finally {
      await embeddingChunks.return(undefined);
    }
    return;
  }
  const [x, y] = [await readTensor(head), await readTensor(embedding)];
  if (x.some((v, i) => v !== y[i])) throw differ();
}
