import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { ImportError } from './import-error.ts';
import { readTensor } from './safetensors.ts';
import { columns, transpose } from './tensor-layout.ts';
import type { PlannedTensor, WeightPlan } from './weight-plan.ts';

/** Where a tensor lies in weights.bin (what the graph builder's external-data references point at). */
export interface WeightIndexEntry {
  readonly offset: number;
  readonly byteLength: number;
  readonly shape: readonly number[];
}

export interface WrittenWeights {
  /** By warmgate tensor name, in weightNames order. */
  readonly index: Readonly<Record<string, WeightIndexEntry>>;
  readonly sha256: string;
  readonly byteLength: number;
  readonly dtype: 'float32';
}

export interface WriteOptions {
  /** Called after each tensor is written (progress for the CLI). */
  onTensor?: (name: string, written: number, total: number) => void;
}

/** Each tensor starts at a multiple of this, so it can be mapped or read as aligned float32 rows. */
export const WEIGHT_ALIGNMENT = 64;

/**
 * Streams the plan's tensors into `outFile` as float32 little-endian, each at a 64-byte boundary, and
 * hashes the bytes as they go. One source tensor (plus its converted copy) is in memory at a time. The
 * file appears only when complete: it is written beside the target and renamed.
 */
export async function writeWeights(
  plan: WeightPlan,
  outFile: string,
  options: WriteOptions = {},
): Promise<WrittenWeights> {
  const partial = `${outFile}.partial`;
  const hash = createHash('sha256');
  const index: Record<string, WeightIndexEntry> = {};
  let position = 0;
  let done = false;
  const fh = await open(partial, 'w').catch((e: Error) => {
    throw new ImportError('output_failed', `cannot create ${partial}: ${e.message}`, { cause: e });
  });
  try {
    const write = async (bytes: Uint8Array) => {
      hash.update(bytes);
      await writeAll(fh, bytes, position, outFile);
      position += bytes.length;
    };
    // GPT-2's q, k and v (and their biases) come from one fused source, consecutively: read it once.
    let cached: { name: string; values: Float32Array } | undefined;
    for (const [i, t] of plan.tensors.entries()) {
      if (cached?.name !== t.source.name) {
        cached = undefined; // let the previous source go before the next is read
        cached = { name: t.source.name, values: await readTensor(t.source) };
      }
      const values = converted(t, cached.values);
      const pad = (WEIGHT_ALIGNMENT - (position % WEIGHT_ALIGNMENT)) % WEIGHT_ALIGNMENT;
      if (pad) await write(new Uint8Array(pad));
      index[t.name] = { offset: position, byteLength: values.byteLength, shape: t.shape };
      await write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      options.onTensor?.(t.name, i + 1, plan.tensors.length);
    }
    await fh.sync();
    done = true;
  } finally {
    await fh.close();
    if (!done) await rm(partial, { force: true });
  }
  try {
    await rename(partial, outFile);
  } catch (e) {
    await rm(partial, { force: true });
    throw new ImportError(
      'output_failed',
      `cannot rename ${partial} to ${outFile}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  return { index, sha256: hash.digest('hex'), byteLength: position, dtype: 'float32' };
}

function converted(t: PlannedTensor, values: Float32Array): Float32Array {
  const [rows, cols] = t.source.shape.length === 1 ? [1, t.source.shape[0]!] : t.source.shape;
  switch (t.transform.kind) {
    case 'copy':
      return values;
    case 'transpose':
      return transpose(values, rows!, cols!);
    case 'columns':
      return columns(values, rows!, cols!, t.transform.start, t.transform.count);
  }
}

/** Writes in pieces under fs's 2 GiB per call; a short write is continued, a failed one reported. */
async function writeAll(
  fh: Awaited<ReturnType<typeof open>>,
  bytes: Uint8Array,
  position: number,
  outFile: string,
): Promise<void> {
  const piece = 64 * 1024 * 1024;
  let done = 0;
  try {
    while (done < bytes.length) {
      const { bytesWritten } = await fh.write(
        bytes,
        done,
        Math.min(piece, bytes.length - done),
        position + done,
      );
      done += bytesWritten;
    }
  } catch (e) {
    throw new ImportError('output_failed', `cannot write ${outFile}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
