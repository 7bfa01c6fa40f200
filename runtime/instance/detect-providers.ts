import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';

/**
 * Execution providers this ONNX Runtime build can open. listSupportedBackends() names what the
 * binding was compiled with; a provider it marks unbundled (cuda, tensorrt on linux x64) is usable
 * only once its library was installed next to the binding, which the package's install script does
 * on request. Its system libraries (CUDA, cuDNN) are checked by ONNX Runtime when a session opens.
 */
export function availableExecutionProviders(): string[] {
  // The same folder the binding is loaded from (onnxruntime-node/dist/binding.js).
  const bin = join(
    dirname(createRequire(import.meta.url).resolve('onnxruntime-node')),
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
  return ort
    .listSupportedBackends()
    .filter((b) => b.bundled || existsSync(join(bin, providerLibrary(b.name))))
    .map((b) => b.name);
}

function providerLibrary(name: string): string {
  if (process.platform === 'win32') return `onnxruntime_providers_${name}.dll`;
  if (process.platform === 'darwin') return `libonnxruntime_providers_${name}.dylib`;
  return `libonnxruntime_providers_${name}.so`;
}
