import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { ImportError } from './import-error.ts';
import { TensorReader } from './safetensors.ts';
import { BLOCK_ELEMENTS, columnBlocks, transposedBlocks } from './tensor-layout.ts';
import type { PlannedTensor, WeightPlan } from './weight-plan.ts';

/**
 * Where a tensor lies in weights.bin: the graph builder's WeightEntry (its external-data references point
 * at it), so the index goes to buildGraphs or convertWeights as it is.
 */
export interface WeightIndexEntry {
  readonly offset: number;
  readonly byteLength: number;
  readonly shape: readonly number[];
  readonly dtype: 'float32';
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
const ZEROS = new Float32Array(WEIGHT_ALIGNMENT / 4);

/**
 * Streams the plan's tensors into `outFile` as float32 little-endian, each at a 64-byte boundary, and
 * hashes the bytes as they go. Tensors copied as they are pass through in chunks; a tensor to transpose
 * or split is read whole (into one reused buffer) and written a block at a time: the import's memory is
 * the largest such tensor plus a few MB, never the checkpoint. The file appears only when complete: it is
 * written beside the target and renamed.
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
    const write = async (values: Float32Array) => {
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      hash.update(bytes);
      await writeAll(fh, bytes, position, outFile);
      position += bytes.length;
    };
    const reader = new TensorReader();
    const source = new ReusedBuffer();
    // A block holds at least one output row.
    const rowLength = Math.max(...plan.tensors.map((t) => t.shape[t.shape.length - 1] ?? 1));
    const block = new Float32Array(Math.max(BLOCK_ELEMENTS, rowLength));
    // GPT-2's q, k and v (and their biases) come from one fused source, consecutively: read it once.
    let held: { name: string; values: Float32Array } | undefined;
    for (const [i, t] of plan.tensors.entries()) {
      const pad = (WEIGHT_ALIGNMENT - (position % WEIGHT_ALIGNMENT)) % WEIGHT_ALIGNMENT;
      if (pad) await write(ZEROS.subarray(0, pad / 4));
      const start = position;
      if (t.transform.kind === 'copy') {
        for await (const chunk of reader.float32Chunks(t.source)) await write(chunk);
      } else {
        if (held?.name !== t.source.name) {
          const elements = t.source.shape.reduce((a, b) => a * b, 1);
          held = { name: t.source.name, values: await reader.read(t.source, source.take(elements)) };
        }
        for (const b of blocks(t, held.values, block)) await write(b);
      }
      index[t.name] = { offset: start, byteLength: position - start, shape: t.shape, dtype: 'float32' };
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
      { cause: e },
    );
  }
  return { index, sha256: hash.digest('hex'), byteLength: position, dtype: 'float32' };
}

function blocks(t: PlannedTensor, values: Float32Array, out: Float32Array): Iterable<Float32Array> {
  const [rows, cols] = t.source.shape.length === 1 ? [1, t.source.shape[0]!] : t.source.shape;
  if (t.transform.kind === 'transpose') return transposedBlocks(values, rows!, cols!, out);
  if (t.transform.kind === 'columns') {
    return columnBlocks(values, rows!, cols!, t.transform.start, t.transform.count, out);
  }
  return [values];
}

/** One float32 buffer that every tensor of an import reuses, grown when a larger one comes. */
class ReusedBuffer {
  #buffer = new Float32Array(0);
  take(elements: number): Float32Array {
    if (this.#buffer.length < elements) {
      this.#buffer = new Float32Array(0); // let the smaller one go before allocating
      this.#buffer = new Float32Array(elements);
    }
    return this.#buffer.subarray(0, elements);
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
