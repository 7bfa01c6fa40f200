#!/usr/bin/env node
/**
 * warmgate import: a Hugging Face model folder -> a warmgate model folder the runtime serves.
 *
 *   node dist/runtime/model/import/main.js DIR --out MODEL_DIR [--dtype float32|float16|int4]
 *       [--block-size 32|64] [--name NAME] [--force] [--json]
 *
 * Prints what was imported, the time it took and the process's peak memory (the import streams the
 * checkpoint tensor by tensor: peak RSS stays far below the checkpoint's size).
 */
import { parseArgs } from 'node:util';
import { ImportError } from './import-error.ts';
import { importModel } from './import-model.ts';
import { WeightConversionError } from '../quantize/index.ts';

const USAGE =
  'usage: warmgate import DIR --out MODEL_DIR [--dtype float32|float16|int4] [--block-size 32|64] [--name NAME] [--force] [--json]';
const DTYPES = ['float32', 'float16', 'int4'] as const;

export async function runImport(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        name: { type: 'string' },
        dtype: { type: 'string', default: 'float32' },
        'block-size': { type: 'string', default: '32' },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const [src] = positionals;
  if (!src || !o.out || positionals.length > 1) {
    console.error(`warmgate import needs one model folder and --out\n${USAGE}`);
    return 2;
  }
  const dtype = DTYPES.find((d) => d === o.dtype);
  const blockSize = o['block-size'] === '32' ? 32 : o['block-size'] === '64' ? 64 : null;
  if (dtype === undefined || blockSize === null) {
    console.error(
      `--dtype takes ${DTYPES.join(', ')} and --block-size 32 or 64 (got ${o.dtype}, ${o['block-size']})\n${USAGE}`,
    );
    return 2;
  }
  const t0 = performance.now();
  try {
    const r = await importModel(src, o.out, {
      name: o.name,
      force: o.force,
      dtype,
      blockSize,
      log: o.json ? undefined : (line) => console.log(line),
    });
    const seconds = (performance.now() - t0) / 1000;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    const summary = {
      out: r.out,
      name: r.manifest.name,
      model_type: r.manifest.source?.model_type,
      dtype: r.manifest.dtype,
      parameters: r.parameters,
      source_mb: r.sourceBytes / 2 ** 20,
      weights_mb: r.weightsBytes / 2 ** 20,
      seconds,
      peak_rss_mb: peakRssMb,
      notes: r.notes,
    };
    if (o.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `imported ${summary.name} (${summary.model_type}, ${(r.parameters / 1e6).toFixed(1)} M parameters) into ${r.out}`,
      );
      console.log(
        `${summary.source_mb.toFixed(1)} MB of safetensors -> ${summary.weights_mb.toFixed(1)} MB weights.bin (${dtype}) in ${seconds.toFixed(1)} s, peak RSS ${peakRssMb.toFixed(0)} MB`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof ImportError || e instanceof WeightConversionError) {
      console.error(`warmgate import: ${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  process.exitCode = await runImport(process.argv.slice(2));
