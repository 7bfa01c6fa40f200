import { resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { resolveArchitecture } from './architecture.ts';
import { buildAdapterEngineGraph, type LoraGraphSpec, weightIndexOfGraph } from './graph/index.ts';
import type { ModelManifest } from './manifest.ts';
import { decodeModel } from './onnx/index.ts';

/**
 * The engine session of a model that serves LoRA adapters: engine.onnx rebuilt at load with the adapter
 * inputs (graph/lora.ts), from engine.onnx's own weight references, so any model folder serves adapters
 * and reads the same weights file. Not written to the folder nor to the graph cache: the spec (slots,
 * rank, targets) is the instance's choice, not the model's.
 */
export async function openAdapterEngine(
  dir: string,
  manifest: ModelManifest,
  engineBytes: Uint8Array,
  spec: LoraGraphSpec,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  const arch = resolveArchitecture(manifest.architecture);
  const { index, location } = weightIndexOfGraph(decodeModel(engineBytes), arch);
  const bytes = buildAdapterEngineGraph(arch, index, spec, location, manifest.name);
  const extra = options.extra as { session?: Record<string, string> } | undefined;
  return ort.InferenceSession.create(bytes, {
    ...options,
    extra: {
      ...extra,
      // Opened from bytes: the weights file resolves from the model's folder.
      session: { ...extra?.session, model_external_initializers_file_folder_path: resolve(dir) },
    },
  });
}
