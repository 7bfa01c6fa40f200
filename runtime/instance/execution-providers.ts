/** The ONNX Runtime execution providers an instance may ask for, in the names ONNX Runtime uses. */
export const EXECUTION_PROVIDERS = ['cpu', 'webgpu', 'cuda', 'tensorrt'] as const;

export type ProviderChoice =
  | {
      readonly ok: true;
      /** For ONNX Runtime's session options, in preference order; always ends with cpu. */
      readonly providers: readonly string[];
      /** One line per requested provider that is missing, saying what is used instead. */
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly code: 'execution_provider_unavailable'; readonly message: string };

/**
 * Which execution providers to open the model with, given the ones requested (preference order; empty
 * means cpu) and the ones this ONNX Runtime build has. A missing provider is skipped with a warning,
 * or refused when `required`: a deployment that asked for a GPU should not quietly serve from the CPU.
 */
export function chooseExecutionProviders(
  requested: readonly string[],
  available: readonly string[],
  required: boolean,
): ProviderChoice {
  const wanted = requested.length ? [...new Set(requested)] : ['cpu'];
  const has = (p: string) => p === 'cpu' || available.includes(p);
  const missing = wanted.filter((p) => !has(p));
  if (missing.length && required) {
    return {
      ok: false,
      code: 'execution_provider_unavailable',
      message: `execution provider ${missing.join(', ')} is not available in this ONNX Runtime build (it has ${['cpu', ...available.filter((p) => p !== 'cpu')].join(', ')}) and it is required: install an ONNX Runtime build with it, or drop the requirement to fall back`,
    };
  }
  const providers = wanted.filter(has);
  if (!providers.includes('cpu')) providers.push('cpu');
  const warnings = missing.map((p) => {
    const next = wanted.slice(wanted.indexOf(p) + 1).find(has) ?? 'cpu';
    return `execution provider ${p} is not available in this ONNX Runtime build; falling back to ${next}`;
  });
  return { ok: true, providers, warnings };
}

/**
 * Whether the engine keeps its KV pool on the device: on WebGPU, whose buffers the Node binding can
 * hand back to the next run (IO binding); the CPU, CUDA and TensorRT paths keep host pools.
 */
export const onDevice = (providers: readonly string[]): boolean => providers[0] === 'webgpu';
