/**
 * Run by memory.test.ts in its own process: imports DIR into OUT/weights.bin and prints its resident
 * memory before the import and its peak (maxRSS covers the whole process, so peak - before is an upper
 * bound on what the import added).
 */
import { join } from 'node:path';
import { readHfModel, writeWeights } from '../../../../runtime/model/import/index.ts';

const [dir, out] = process.argv.slice(2) as [string, string];
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const model = await readHfModel(dir);
const written = await writeWeights(model.plan, join(out, 'weights.bin'));
process.stdout.write(
  JSON.stringify({
    rssBefore,
    maxRss: process.resourceUsage().maxRSS * 1024,
    seconds: (performance.now() - started) / 1000,
    tensors: Object.keys(written.index).length,
    byteLength: written.byteLength,
  }),
);
