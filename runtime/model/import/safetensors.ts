import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { widenBf16, widenF16 } from './half-floats.ts';
import { ImportError, shown } from './import-error.ts';

/** One tensor of a safetensors file: where its bytes lie, checked against the file when it was opened. */
export interface TensorEntry {
  readonly name: string;
  readonly file: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Byte position of the tensor's data from the start of the file. */
  readonly start: number;
  readonly byteLength: number;
}

/** Element sizes of the safetensors format's dtypes: known sizes let every span be checked. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
};

/** The dtypes whose values readTensor widens to float32 exactly. */
export const READABLE_DTYPES: readonly string[] = ['F32', 'F16', 'BF16'];

/** The format's own limit; a larger value is a damaged length field, not a header. */
const MAX_HEADER_BYTES = 100_000_000;
/**
 * Reads and conversions go through chunks of this size (a multiple of every element size): small enough
 * that a chunk is never what an import's memory is made of.
 */
const CHUNK_BYTES = 1024 * 1024;

if (endianness() !== 'LE') throw new Error('the safetensors reader assumes a little-endian machine');

const corrupt = (file: string, what: string) =>
  new ImportError(
    'checkpoint_corrupt',
    `${file}: ${what}; the file is damaged or not a safetensors file: download or save it again`,
  );

/**
 * Reads and checks a safetensors file's header, not its data: the header length, the JSON, each tensor's
 * dtype, shape and offsets (its span must equal shape x dtype size, spans must not overlap, and every
 * span must lie inside the file, so a truncated file is refused here, naming the first tensor cut off).
 */
export async function readSafetensorsHeader(file: string): Promise<Map<string, TensorEntry>> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new ImportError('checkpoint_incomplete', `cannot open ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    const { size } = await fh.stat();
    if (size < 8) throw corrupt(file, `the file has ${size} bytes, fewer than the 8 of its length field`);
    const lengthField = Buffer.alloc(8);
    await readFully(fh, lengthField, 0, file);
    const headerBytes = lengthField.readBigUInt64LE(0);
    if (headerBytes < 2n || headerBytes > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
      throw corrupt(
        file,
        `its header length field says ${headerBytes} bytes, but the file has ${size} bytes (and headers are at most ${MAX_HEADER_BYTES})`,
      );
    }
    const header = Buffer.alloc(Number(headerBytes));
    await readFully(fh, header, 8, file);
    const dataStart = 8 + header.length;
    return parseHeader(file, header, dataStart, size - dataStart);
  } finally {
    await fh.close();
  }
}

/**
 * A whole safetensors file already in memory (a LoRA adapter: small, read once): its header, with the
 * same checks as readSafetensorsHeader. `file` only names it in errors.
 */
export function parseSafetensors(file: string, bytes: Uint8Array): Map<string, TensorEntry> {
  if (bytes.length < 8)
    throw corrupt(file, `the file has ${bytes.length} bytes, fewer than the 8 of its length field`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const headerBytes = view.readBigUInt64LE(0);
  if (headerBytes < 2n || headerBytes > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw corrupt(
      file,
      `its header length field says ${headerBytes} bytes, but the file has ${bytes.length} bytes (and headers are at most ${MAX_HEADER_BYTES})`,
    );
  }
  const dataStart = 8 + Number(headerBytes);
  return parseHeader(file, view.subarray(8, dataStart), dataStart, bytes.length - dataStart);
}

/** One tensor's values as float32 from its file's bytes in memory (parseSafetensors' entries). */
export function tensorValues(t: TensorEntry, bytes: Uint8Array): Float32Array {
  const per = bytesPerElement(t);
  const n = t.byteLength / per;
  const out = new Float32Array(n);
  // Copied first: the tensor's offset in the file need not be aligned to its element size.
  const raw = new Uint8Array(bytes.subarray(t.start, t.start + t.byteLength)); // a copy (Buffer.slice is a view)
  if (per === 4) {
    out.set(new Float32Array(raw.buffer, 0, n));
    return out;
  }
  (t.dtype === 'BF16' ? widenBf16 : widenF16)(
    new Uint16Array(raw.buffer, 0, n),
    new Uint32Array(out.buffer),
    0,
  );
  return out;
}

function parseHeader(
  file: string,
  bytes: Buffer,
  dataStart: number,
  dataBytes: number,
): Map<string, TensorEntry> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw corrupt(file, `its header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw corrupt(file, 'its header is not a JSON object');
  }
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, TensorEntry>();
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, begin, end } = checkEntry(file, name, raw);
    spans.push({ name, begin, end });
    tensors.set(name, {
      name,
      file,
      dtype,
      shape,
      start: dataStart + begin,
      byteLength: end - begin,
    });
  }
  spans.sort((a, b) => a.begin - b.begin);
  let last: (typeof spans)[number] | undefined;
  for (const cur of spans.filter((s) => s.end > s.begin)) {
    if (last && cur.begin < last.end) {
      throw corrupt(
        file,
        `tensor "${cur.name}" (data bytes ${cur.begin}..${cur.end}) overlaps "${last.name}" (${last.begin}..${last.end})`,
      );
    }
    if (!last || cur.end > last.end) last = cur;
  }
  const cut = spans.find((s) => s.end > dataBytes);
  if (cut) {
    const needed = Math.max(...spans.map((s) => s.end));
    throw new ImportError(
      'checkpoint_corrupt',
      `${file} is truncated: tensor "${cut.name}" (data bytes ${cut.begin}..${cut.end}) runs ${cut.end - dataBytes} bytes past the end of the file, which is ${needed - dataBytes} bytes short of its header's ${needed}-byte data section; download or copy the file again`,
    );
  }
  return tensors;
}

function checkEntry(
  file: string,
  name: string,
  raw: unknown,
): { dtype: string; shape: number[]; begin: number; end: number } {
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (typeof entry !== 'object' || entry === null) {
    throw corrupt(file, `tensor "${name}" has header entry ${shown(raw)}, not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') throw corrupt(file, `tensor "${name}" has dtype ${shown(dtype)}`);
  const elementBytes = DTYPE_BYTES[dtype];
  if (elementBytes === undefined) {
    throw new ImportError(
      'dtype_unsupported',
      `${file}: tensor "${name}" has dtype ${dtype}, which warmgate does not read (it reads ${READABLE_DTYPES.join(', ')}); use a checkpoint saved in one of those`,
    );
  }
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw corrupt(file, `tensor "${name}" has shape ${shown(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw corrupt(file, `tensor "${name}" has data_offsets ${shown(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const elements = shape.reduce((n: number, d: number) => n * d, 1);
  const span = elements * elementBytes;
  if (!Number.isSafeInteger(span) || end < begin || end - begin !== span) {
    throw corrupt(
      file,
      `tensor "${name}" (${dtype} ${shown(shape)}) needs ${span} bytes, but its data_offsets ${shown(offsets)} span ${end - begin}`,
    );
  }
  return { dtype, shape: shape as number[], begin, end };
}

/**
 * One tensor's values as float32 (F16 and BF16 widened exactly), into `into` when given (it must hold
 * exactly the tensor's elements). Opens the file for this read only.
 */
export function readTensor(t: TensorEntry, into?: Float32Array): Promise<Float32Array> {
  return new TensorReader().read(t, into);
}

/** The tensor's raw bytes a chunk at a time; see TensorReader.chunks. */
export function tensorChunks(t: TensorEntry): AsyncGenerator<{ bytes: Uint8Array; at: number }> {
  return new TensorReader().chunks(t);
}

/**
 * Reads tensors through chunk buffers it keeps, so that reading tensor after tensor leaves no garbage
 * behind (garbage ArrayBuffers are collected late, and would be the bulk of an import's memory). One
 * reader serves one read at a time.
 */
export class TensorReader {
  readonly #raw = new Uint8Array(CHUNK_BYTES);
  #wide: Uint32Array | undefined;

  async read(t: TensorEntry, into?: Float32Array): Promise<Float32Array> {
    const elements = t.byteLength / bytesPerElement(t);
    if (into && into.length !== elements) {
      throw new RangeError(`read: "${t.name}" has ${elements} elements, the buffer ${into.length}`);
    }
    const out = into ?? new Float32Array(elements);
    let at = 0;
    for await (const chunk of this.float32Chunks(t)) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /**
   * The tensor's values as float32, in order, a chunk at a time; the chunk is the reader's buffer: use it
   * before asking for the next.
   */
  async *float32Chunks(t: TensorEntry): AsyncGenerator<Float32Array> {
    if (bytesPerElement(t) === 4) {
      for await (const { bytes } of this.chunks(t)) {
        yield new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      }
      return;
    }
    const widen = t.dtype === 'BF16' ? widenBf16 : widenF16;
    this.#wide ??= new Uint32Array(CHUNK_BYTES / 2);
    const wide = this.#wide;
    for await (const { bytes } of this.chunks(t)) {
      const n = bytes.length / 2;
      widen(new Uint16Array(bytes.buffer, bytes.byteOffset, n), wide, 0);
      yield new Float32Array(wide.buffer, 0, n);
    }
  }

  /**
   * The tensor's raw bytes, a chunk at a time (`at`: the chunk's position within the tensor); the chunk is
   * the reader's buffer: use it before asking for the next.
   */
  async *chunks(t: TensorEntry): AsyncGenerator<{ bytes: Uint8Array; at: number }> {
    const fh = await openData(t);
    try {
      for (let at = 0; at < t.byteLength; at += CHUNK_BYTES) {
        const bytes = this.#raw.subarray(0, Math.min(CHUNK_BYTES, t.byteLength - at));
        await readFully(fh, bytes, t.start + at, t.file);
        yield { bytes, at };
      }
    } finally {
      await fh.close();
    }
  }
}

function bytesPerElement(t: TensorEntry): 2 | 4 {
  if (!READABLE_DTYPES.includes(t.dtype)) {
    throw new ImportError(
      'dtype_unsupported',
      `${t.file}: tensor "${t.name}" has dtype ${t.dtype}; warmgate reads ${READABLE_DTYPES.join(', ')} weights (quantized checkpoints are not imported): use the checkpoint's unquantized release`,
    );
  }
  return t.dtype === 'F32' ? 4 : 2;
}

/** Opens the tensor's file and checks it still holds the tensor (it may have changed since the header). */
async function openData(t: TensorEntry): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(t.file, 'r');
  } catch (e) {
    throw new ImportError('checkpoint_incomplete', `cannot open ${t.file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const { size } = await fh.stat();
  if (size < t.start + t.byteLength) {
    await fh.close();
    throw new ImportError(
      'checkpoint_corrupt',
      `${t.file} shrank while being read: tensor "${t.name}" runs ${t.start + t.byteLength - size} bytes past its end; do not change the checkpoint during an import`,
    );
  }
  return fh;
}

/** Fills `into` from `position` (a read may return less than asked). */
async function readFully(fh: FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) {
      throw new ImportError(
        'checkpoint_corrupt',
        `${file} ended at byte ${position + done} while being read; the file is truncated or changed during the import`,
      );
    }
    done += bytesRead;
  }
}
