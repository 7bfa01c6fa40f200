/**
 * A second, deliberately plain safetensors reader and writer for the importer's tests: the reader decodes
 * each element with DataView and arithmetic (no bit tricks shared with the importer), the writer makes
 * synthetic and damaged checkpoints.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../../../fixtures/hf');

export interface ReferenceTensor {
  dtype: string;
  shape: number[];
  values: Float64Array;
}

/** Every tensor of a (small) safetensors file, decoded to float64. */
export function readReference(file: string): Map<string, ReferenceTensor> {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, ReferenceTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const base = 8 + headerLength + t.data_offsets[0];
    const size = t.dtype === 'F32' ? 4 : 2;
    const n = (t.data_offsets[1] - t.data_offsets[0]) / size;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const at = base + i * size;
      values[i] =
        t.dtype === 'F32'
          ? view.getFloat32(at, true)
          : t.dtype === 'BF16'
            ? decodeBf16(view.getUint16(at, true))
            : decodeF16(view.getUint16(at, true));
    }
    out.set(name, { dtype: t.dtype, shape: t.shape, values });
  }
  return out;
}

/** IEEE binary16 by its definition. */
export function decodeF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 by its definition: 8 exponent bits, 7 mantissa bits. */
export function decodeBf16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 0) return sign * (m / 128) * 2 ** -126;
  if (e === 255) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 128) * 2 ** (e - 127);
}

export interface TensorToWrite {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** A safetensors file with the tensors packed in order; `edit` may change the header before writing. */
export function writeSafetensors(
  file: string,
  tensors: TensorToWrite[],
  edit?: (header: Record<string, unknown>) => void,
): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  edit?.(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(file, Buffer.concat([length, Buffer.from(json), ...tensors.map((t) => t.data)]));
}

/** The fixture's tensors as raw bytes, ready to be rewritten (with changes) by writeSafetensors. */
export function rawTensors(file: string): TensorToWrite[] {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, t]) => ({
      name,
      dtype: t.dtype,
      shape: t.shape,
      data: bytes.subarray(8 + headerLength + t.data_offsets[0], 8 + headerLength + t.data_offsets[1]),
    }));
}

/** A copy of a fixture folder (without its goldens' large files) that a test may break. */
export function copyFixture(name: string, into: string): string {
  const dir = join(into, name);
  cpSync(join(FIXTURES, name), dir, {
    recursive: true,
    filter: (src) => !src.includes('/golden') && !src.includes('/adapters'),
  });
  return dir;
}

export function editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 2));
}
