import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv, type JSONSchemaType } from 'ajv';
import ort from 'onnxruntime-node';
import { ModelLoadError, sessionOptions } from '../model/index.ts';

export interface TensorSpec {
  name: string;
  /** KServe v2 datatype; FP32 is what this runtime serves today. */
  datatype: 'FP32';
  /** -1 marks the batch dimension (first) and any free dimension. */
  shape: number[];
}

/** model.json of a tensor function (written by py/make_classifier.py). */
export interface TensorManifest {
  format: 'warmgate-tensor-model/1';
  name: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  labels?: string[];
  files: { model: { path: string; sha256: string } };
}

const spec: JSONSchemaType<TensorSpec> = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: {
    name: { type: 'string', minLength: 1 },
    datatype: { type: 'string', const: 'FP32' },
    shape: { type: 'array', minItems: 1, items: { type: 'integer', minimum: -1 } },
  },
};

const validate = new Ajv({ allErrors: true, strict: false }).compile<TensorManifest>({
  type: 'object',
  required: ['format', 'name', 'inputs', 'outputs', 'files'],
  properties: {
    format: { const: 'warmgate-tensor-model/1' },
    name: { type: 'string', minLength: 1 },
    inputs: { type: 'array', minItems: 1, items: spec },
    outputs: { type: 'array', minItems: 1, items: spec },
    labels: { type: 'array', items: { type: 'string' } },
    files: {
      type: 'object',
      required: ['model'],
      properties: {
        model: {
          type: 'object',
          required: ['path', 'sha256'],
          properties: { path: { type: 'string' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
        },
      },
    },
  },
});

export interface TensorModel {
  readonly dir: string;
  readonly manifest: TensorManifest;
  readonly session: ort.InferenceSession;
  release(): Promise<void>;
}

/** Loads a tensor function: manifest checked, file hash verified, graph inputs/outputs matched by name. */
export async function loadTensorModel(
  dir: string,
  threads = 0,
  executionProviders: string[] = ['cpu'],
): Promise<TensorModel> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  } catch (e) {
    throw new ModelLoadError('model_not_found', `cannot read ${dir}/model.json: ${(e as Error).message}`);
  }
  if (!validate(manifest)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new ModelLoadError('model_manifest_invalid', `${dir}/model.json is invalid: ${problems}`);
  }
  const bytes = await readFile(join(dir, manifest.files.model.path)).catch(() => {
    throw new ModelLoadError('model_not_found', `${manifest.files.model.path} is missing from ${dir}`);
  });
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.files.model.sha256) {
    throw new ModelLoadError(
      'model_file_corrupt',
      `${manifest.files.model.path} does not match its sha256 in model.json`,
    );
  }
  const session = await ort.InferenceSession.create(
    bytes,
    sessionOptions({ intraOpThreads: threads, executionProviders }),
  );
  const missing = [
    ...manifest.inputs.filter((i) => !session.inputNames.includes(i.name)),
    ...manifest.outputs.filter((o) => !session.outputNames.includes(o.name)),
  ];
  if (missing.length) {
    await session.release();
    throw new ModelLoadError('model_graph_invalid', `graph lacks ${missing.map((m) => m.name).join(', ')}`);
  }
  return { dir, manifest, session, release: () => session.release() };
}
