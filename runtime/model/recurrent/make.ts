/**
 * Writes the recurrent demo model, runtime/models/recurrent/ (npm run model:recurrent): a tiny Elman RNN
 * cell served one step per request, its state kept by the instance between a sequence's requests
 * (the sequence batcher, runtime/tensor/sequence/). Weights are seeded random numbers scaled to keep
 * tanh out of saturation: the model demonstrates state, not a task. Node only, no Python.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeModel } from '../onnx/index.ts';
import { mulberry32 } from '../../random/mulberry32.ts';
import { type RecurrentWeights, sequenceGraph, stepGraph } from './graphs.ts';

const INPUT = 4;
const HIDDEN = 8;
const OUTPUT = 2;

function weights(seed: number): RecurrentWeights {
  const rand = mulberry32(seed); // seeded, so the committed files are reproducible
  const fill = (n: number, scale: number) =>
    Array.from({ length: n }, () => Math.fround((rand() * 2 - 1) * scale));
  return {
    input: INPUT,
    hidden: HIDDEN,
    output: OUTPUT,
    w: fill(HIDDEN * INPUT, 0.6),
    r: fill(HIDDEN * HIDDEN, 0.4),
    b: fill(2 * HIDDEN, 0.1),
    v: fill(HIDDEN * OUTPUT, 0.8),
    c: fill(OUTPUT, 0.1),
  };
}

async function main(): Promise<void> {
  const out = join(import.meta.dirname, '..', '..', 'models', 'recurrent');
  await mkdir(out, { recursive: true });
  const wt = weights(20261206);
  const step = encodeModel(stepGraph(wt));
  await writeFile(join(out, 'model.onnx'), step);
  await writeFile(join(out, 'sequence.onnx'), encodeModel(sequenceGraph(wt)));
  const manifest = {
    format: 'warmgate-tensor-model/1',
    name: 'recurrent-cell',
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [-1, INPUT] },
      { name: 'state_in', datatype: 'FP32', shape: [-1, HIDDEN] },
    ],
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [-1, OUTPUT] },
      { name: 'state_out', datatype: 'FP32', shape: [-1, HIDDEN] },
    ],
    files: { model: { path: 'model.onnx', sha256: createHash('sha256').update(step).digest('hex') } },
    reference: 'sequence.onnx: the whole sequence in one call (ONNX RNN), for tests',
  };
  await writeFile(join(out, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

await main();
