import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { decodeModel, encodeModel } from '../../../../runtime/model/onnx/index.ts';

const MODELS = fileURLToPath(new URL('../../../../runtime/models/', import.meta.url));

// The committed models were written by Python's onnx package (runtime/model/py/export.py). Decoding
// them with warmgate's schema subset and encoding the result again must give the same bytes: every
// field they hold is declared, with the number, type and packing the onnx package used.
describe('ONNX schema subset', () => {
  for (const model of ['tiny', 'demo'])
    for (const role of ['engine', 'reference', 'decode_contiguous'])
      it(`re-encodes ${model}/${role}.onnx byte for byte`, async () => {
        const bytes = await readFile(`${MODELS}${model}/${role}.onnx`);
        const decoded = decodeModel(bytes);
        assert.ok(decoded.graph?.node?.length, 'the graph decoded to no nodes');
        assert.equal(decoded.opset_import?.[0]?.version, 18);
        assert.ok(Buffer.from(encodeModel(decoded)).equals(bytes), 'the re-encoded bytes differ');
      });

  it('refuses an object that is not a ModelProto', () => {
    assert.throws(() => encodeModel({ ir_version: 'eight' } as never), /not an ONNX ModelProto/);
  });
});
