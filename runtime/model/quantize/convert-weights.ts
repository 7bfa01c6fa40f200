import { createHash } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import {
  type BlockQuantization,
  matmulWeight,
  WEIGHT_ALIGN,
  type WeightEntry,
  type WeightIndex,
  type WeightSpan,
} from '../graph/index.ts';
import { WeightConversionError } from './conversion-error.ts';
import { FLOAT16_MAX, toFloat16 } from './float16.ts';
import { quantizeInt4 } from './int4-blocks.ts';

/** What a float32 weights file can become (the manifest's ModelDtype, less float32). */
export type ConvertedDtype = 'float16' | 'int4';

export interface ConvertOptions {
  /** int4: values per block along K (one scale and zero point each). Default 32. */
  readonly blockSize?: 32 | 64;
}

export interface ConvertedWeights {
  /** The new file's index, in the source index's order; JSON as it is. */
  readonly index: WeightIndex;
  readonly sha256: string;
  readonly byteLength: number;
}

/**
 * Converts a float32 weights file (`index` says where each tensor lies) into `outFile`, one tensor at a
 * time: memory is about twice the largest tensor (a 4-bit one is transposed first), never the file.
 * float16: every tensor as IEEE half (float16.ts says what is exact). int4: the weights read only through a matrix product (the
 * Linear weights, an untied lm_head) as 4-bit blocks for MatMulNBits (int4-blocks.ts), every other
 * tensor (embeddings, norms, biases) as float16. Each piece starts on a WEIGHT_ALIGN boundary, as the
 * importer's file does. The file appears only when complete: it is written beside and renamed.
 */
export async function convertWeights(
  srcFile: string,
  index: WeightIndex,
  dtype: ConvertedDtype,
  outFile: string,
  options: ConvertOptions = {},
): Promise<ConvertedWeights> {
  const blockSize = options.blockSize ?? 32;
  if (dtype !== 'float16' && dtype !== 'int4')
    throw new WeightConversionError(
      'dtype_unsupported',
      `cannot convert weights to ${String(dtype)}: the choices are float16 and int4`,
    );
  if (blockSize !== 32 && blockSize !== 64)
    throw new WeightConversionError(
      'block_size_unsupported',
      `int4 block size ${String(blockSize)} is not supported: use 32 or 64`,
    );
  const src = await open(srcFile, 'r').catch((e: Error) => {
    throw new WeightConversionError('source_unreadable', `cannot open ${srcFile}: ${e.message}`, {
      cause: e,
    });
  });
  const partial = `${outFile}.partial`;
  let result: ConvertedWeights;
  try {
    const sourceSize = (await src.stat()).size;
    const out = await AlignedOutput.create(partial);
    try {
      const converted: Record<string, WeightEntry> = {};
      const input = new GrowingBuffer();
      const halves = new GrowingBuffer();
      for (const [name, e] of Object.entries(index)) {
        const values = await readTensor(src, srcFile, sourceSize, name, e, input);
        const m = dtype === 'int4' ? matmulWeight(name, e.shape) : undefined;
        if (m) {
          const q = quantizeInt4(values, m, blockSize);
          const codes = await out.write(q.codes);
          const quantization: BlockQuantization = {
            bits: 4,
            blockSize,
            K: m.K,
            N: m.N,
            scales: await out.write(bytesOf(q.scales)),
            zeroPoints: await out.write(q.zeroPoints),
          };
          converted[name] = { ...codes, shape: e.shape, dtype: 'uint8', quantization };
        } else {
          const half = new Uint16Array(halves.take(values.length * 2), 0, values.length);
          const overflow = toFloat16(values, half);
          if (overflow >= 0)
            throw new WeightConversionError(
              'value_out_of_range',
              `${name} holds ${values[overflow]} (element ${overflow}), beyond float16's largest ${FLOAT16_MAX}: keep this model in float32`,
            );
          converted[name] = { ...(await out.write(bytesOf(half))), shape: e.shape, dtype: 'float16' };
        }
      }
      result = { index: converted, ...(await out.finish()) };
    } catch (e) {
      await out.discard();
      throw e;
    }
  } finally {
    await src.close();
  }
  try {
    await rename(partial, outFile);
  } catch (e) {
    await rm(partial, { force: true });
    throw new WeightConversionError(
      'output_failed',
      `cannot rename ${partial} to ${outFile}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return result;
}

const bytesOf = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Reads one float32 tensor whole into `into`'s buffer, after checking the index's word for it. */
async function readTensor(
  src: FileHandle,
  srcFile: string,
  sourceSize: number,
  name: string,
  e: WeightEntry,
  into: GrowingBuffer,
): Promise<Float32Array> {
  const elements = e.shape.reduce((x, y) => x * y, 1);
  if (e.dtype !== 'float32' || e.byteLength !== elements * 4)
    throw new WeightConversionError(
      'source_not_float32',
      `${name} is ${e.dtype}, ${e.byteLength} bytes for [${e.shape.join(', ')}] in the index: convert from the float32 weights the importer writes`,
    );
  if (e.offset < 0 || e.offset + e.byteLength > sourceSize)
    throw new WeightConversionError(
      'tensor_out_of_file',
      `${name} lies at [${e.offset}, ${e.offset + e.byteLength}), outside ${srcFile} (${sourceSize} bytes): the index is of another file`,
    );
  const bytes = new Uint8Array(into.take(e.byteLength), 0, e.byteLength);
  let done = 0;
  while (done < bytes.length) {
    // Pieces under fs's 2 GiB a call.
    const { bytesRead } = await src.read(bytes, done, Math.min(PIECE, bytes.length - done), e.offset + done);
    if (bytesRead === 0)
      throw new WeightConversionError('source_unreadable', `${srcFile} ended inside ${name}`);
    done += bytesRead;
  }
  return new Float32Array(bytes.buffer, 0, elements);
}

const PIECE = 1 << 30;

/** One buffer reused tensor after tensor, grown when a larger one comes. */
class GrowingBuffer {
  #buffer = new ArrayBuffer(0);
  take(bytes: number): ArrayBuffer {
    if (this.#buffer.byteLength < bytes) {
      this.#buffer = new ArrayBuffer(0); // let the smaller one go first
      this.#buffer = new ArrayBuffer(bytes);
    }
    return this.#buffer;
  }
}

/** The output file: each piece written at the next WEIGHT_ALIGN boundary (zeros between), hashed as it goes. */
class AlignedOutput {
  readonly #fh: FileHandle;
  readonly #path: string;
  readonly #hash = createHash('sha256');
  #position = 0;

  private constructor(fh: FileHandle, path: string) {
    this.#fh = fh;
    this.#path = path;
  }

  static async create(path: string): Promise<AlignedOutput> {
    const fh = await open(path, 'w').catch((e: Error) => {
      throw new WeightConversionError('output_failed', `cannot create ${path}: ${e.message}`, { cause: e });
    });
    return new AlignedOutput(fh, path);
  }

  async write(bytes: Uint8Array): Promise<WeightSpan> {
    const pad = (WEIGHT_ALIGN - (this.#position % WEIGHT_ALIGN)) % WEIGHT_ALIGN;
    if (pad) await this.#append(new Uint8Array(pad));
    const offset = this.#position;
    await this.#append(bytes);
    return { offset, byteLength: bytes.length };
  }

  async finish(): Promise<{ sha256: string; byteLength: number }> {
    try {
      await this.#fh.sync();
    } finally {
      await this.#fh.close();
    }
    return { sha256: this.#hash.digest('hex'), byteLength: this.#position };
  }

  async discard(): Promise<void> {
    await this.#fh.close().catch(() => undefined);
    await rm(this.#path, { force: true });
  }

  async #append(bytes: Uint8Array): Promise<void> {
    this.#hash.update(bytes);
    let done = 0;
    try {
      while (done < bytes.length) {
        const { bytesWritten } = await this.#fh.write(
          bytes,
          done,
          Math.min(PIECE, bytes.length - done),
          this.#position + done,
        );
        done += bytesWritten;
      }
    } catch (e) {
      throw new WeightConversionError(
        'output_failed',
        `cannot write ${this.#path}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    this.#position += bytes.length;
  }
}
