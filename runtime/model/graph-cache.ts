import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ort from 'onnxruntime-node';

/**
 * ONNX Runtime's optimized form of a graph, kept on the host so the next instance of the same model
 * skips the graph optimizer (measured: ~85 → ~55 ms to open the demo model). The key covers what the
 * optimized graph depends on: the graph's and weights' hashes, ONNX Runtime's version, the execution
 * providers and this CPU (level 'all' lays out for the CPU it ran on). Weights stay external: the cached
 * graph points at the model folder's weights file, whose hash the loader checks as for any load.
 */
export interface GraphCacheKey {
  readonly graphSha256: string;
  readonly weightsSha256: string;
  readonly executionProviders: readonly string[];
}

export function graphCachePath(dir: string, k: GraphCacheKey): string {
  const host = createHash('sha256')
    .update(
      `${arch()}|${cpus()[0]?.model ?? ''}|${ort.env.versions.common}|${k.executionProviders.join(',')}`,
    )
    .digest('hex')
    .slice(0, 12);
  return join(dir, `${k.graphSha256.slice(0, 16)}-${k.weightsSha256.slice(0, 16)}-${host}.onnx`);
}

/**
 * Opens `graphPath` through the cache: from the optimized copy when there is one (a copy that ONNX
 * Runtime refuses is removed and the graph opened as usual), else from the graph, saving the copy.
 */
export async function openCached(
  graphPath: string,
  cachePath: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  const bytes = await readFile(cachePath).catch(() => undefined);
  if (bytes !== undefined) {
    try {
      return await ort.InferenceSession.create(bytes, {
        ...options,
        graphOptimizationLevel: 'disabled',
        extra: {
          ...options.extra,
          session: {
            ...(options.extra as { session?: object } | undefined)?.session,
            // Loaded from bytes: external weights resolve from the model's folder.
            model_external_initializers_file_folder_path: resolve(dirname(graphPath)),
          },
        },
      });
    } catch {
      await rm(cachePath, { force: true });
    }
  }
  // Written under a temporary name and renamed: a reader never sees half a file.
  const tmp = `${cachePath}.${process.pid}.tmp`;
  const made = await mkdir(dirname(cachePath), { recursive: true }).then(
    () => true,
    () => false,
  );
  const session = await ort.InferenceSession.create(graphPath, {
    ...options,
    ...(made && { optimizedModelFilePath: tmp }),
  });
  if (made) await rename(tmp, cachePath).catch(() => rm(tmp, { force: true }));
  return session;
}
