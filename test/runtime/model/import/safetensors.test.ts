import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readHfModel, readSafetensorsHeader, readTensor } from '../../../../runtime/model/import/index.ts';
import { refusal } from './refusal.ts';
import { copyFixture, decodeBf16, decodeF16, rawTensors, writeSafetensors } from './safetensors-reference.ts';

/** Every 16-bit pattern, little-endian. */
function allPatterns(): Uint8Array {
  const bits = new Uint16Array(65536);
  for (let i = 0; i < bits.length; i++) bits[i] = i;
  return new Uint8Array(bits.buffer);
}

describe('safetensors reader', () => {
  const root = mkdtempSync(join(tmpdir(), 'warmgate-safetensors-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const file = () => join(root, `t${n++}.safetensors`);

  for (const [dtype, decode] of [
    ['F16', decodeF16],
    ['BF16', decodeBf16],
  ] as const) {
    it(`widens all 65,536 ${dtype} values exactly (subnormals, infinities, NaN)`, async () => {
      const f = file();
      writeSafetensors(f, [{ name: 'all', dtype, shape: [256, 256], data: allPatterns() }]);
      const values = await readTensor((await readSafetensorsHeader(f)).get('all')!);
      for (let h = 0; h < 65536; h++) {
        const want = decode(h);
        if (Number.isNaN(want)) assert.ok(Number.isNaN(values[h]), `${dtype} 0x${h.toString(16)}`);
        else assert.ok(Object.is(values[h], want), `${dtype} 0x${h.toString(16)}: ${values[h]} != ${want}`);
      }
    });
  }

  it('refuses a truncated file, naming the first tensor cut off and by how much', async () => {
    const dir = copyFixture('llama', root);
    const weights = join(dir, 'model.safetensors');
    truncateSync(weights, 207584 - 1000);
    // The data section ends at 205440; the last two tensors by offset are layer 1's v_proj
    // (203264..205312) and the final norm (205312..205440): cut by 1000, v_proj loses 872 bytes.
    const e = await refusal(
      readHfModel(dir),
      'checkpoint_corrupt',
      weights,
      'truncated',
      '"model.layers.1.self_attn.v_proj.weight"',
      'runs 872 bytes past the end',
      '1000 bytes short',
    );
    assert.match(e.message, /download or copy the file again/);
  });

  it('refuses damaged headers before reading data', async () => {
    const tensors = rawTensors(join(import.meta.dirname, '../../../fixtures/hf/llama/model.safetensors'));
    const huge = file();
    writeSafetensors(huge, tensors);
    const bytes = readFileSync(huge);
    bytes.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(huge, bytes);
    await refusal(readSafetensorsHeader(huge), 'checkpoint_corrupt', huge, 'header length', '1099511627776');

    const notJson = file();
    writeSafetensors(notJson, tensors);
    const b = readFileSync(notJson);
    b.write('#', 8);
    writeFileSync(notJson, b);
    await refusal(readSafetensorsHeader(notJson), 'checkpoint_corrupt', notJson, 'not UTF-8 JSON');

    const short = file();
    writeFileSync(short, Buffer.from([1, 2, 3]));
    await refusal(readSafetensorsHeader(short), 'checkpoint_corrupt', 'fewer than the 8');

    const array = file();
    writeFileSync(array, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('[1,2,3] ')]));
    await refusal(readSafetensorsHeader(array), 'checkpoint_corrupt', 'not a JSON object');
  });

  it('refuses spans that disagree with shapes, overlap, or use unknown dtypes', async () => {
    const data = new Uint8Array(64);
    const wrongSpan = file();
    writeSafetensors(wrongSpan, [{ name: 'w', dtype: 'F32', shape: [4, 4], data }], (h) => {
      (h.w as { shape: number[] }).shape = [4, 5];
    });
    await refusal(readSafetensorsHeader(wrongSpan), 'checkpoint_corrupt', '"w"', 'needs 80 bytes', 'span 64');

    const overlap = file();
    writeSafetensors(
      overlap,
      [
        { name: 'a', dtype: 'F32', shape: [8], data: data.subarray(0, 32) },
        { name: 'b', dtype: 'F32', shape: [8], data: data.subarray(0, 32) },
      ],
      (h) => {
        (h.b as { data_offsets: number[] }).data_offsets = [16, 48];
      },
    );
    await refusal(readSafetensorsHeader(overlap), 'checkpoint_corrupt', '"b"', 'overlaps "a"');

    const unknown = file();
    writeSafetensors(unknown, [{ name: 'packed', dtype: 'F4', shape: [64], data }]);
    await refusal(readSafetensorsHeader(unknown), 'dtype_unsupported', '"packed"', 'dtype F4');

    // A known dtype that is not a float: the header is fine, reading it as weights is not.
    const ints = file();
    writeSafetensors(ints, [{ name: 'q', dtype: 'I8', shape: [64], data }]);
    const entry = (await readSafetensorsHeader(ints)).get('q')!;
    await refusal(readTensor(entry), 'dtype_unsupported', '"q"', 'dtype I8');
  });
});
