/**
 * npm run bench:dtype [-- --json] [--model DIR] [--threads N] [--context N] [--reps N] [--windows N]
 *
 * The demo model (rebuilt from its weights.bin with demoWeightIndex) stored as float32, float16 and int4
 * (MatMulNBits, blocks of 32 and of 64), side by side in one process: the weights file's size, the
 * engine session's resident memory (each measured in a fresh child process), the engine's decode step
 * (ModelRunner, batch 1 and 8, every sequence at --context tokens; the dtypes interleaved rep by rep so
 * drift on a shared machine hits each alike), and the loss and perplexity over the part of the corpus
 * the demo model was not trained on: train.py trains on the first 90% of tinyshakespeare's bytes and
 * validates on the rest; here that last 10% is cut into windows of the context length, each scored
 * next byte by next byte with reference.onnx (per-token cross-entropy in nats per byte).
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { KVCacheManager } from '../engine/kv/index.ts';
import { KVStore } from '../engine/runner/kv-store.ts';
import { ModelRunner } from '../engine/runner/model-runner.ts';
import type { StepEntry } from '../engine/runner/step-inputs.ts';
import { ByteTokenizer } from '../engine/text/index.ts';
import { type Architecture, resolveArchitecture } from '../model/architecture.ts';
import { buildGraphs, demoWeightIndex, type WeightIndex } from '../model/graph/index.ts';
import {
  type LoadedModel,
  loadModel,
  type ModelManifest,
  readManifest,
  sessionOptions,
} from '../model/index.ts';
import { convertWeights } from '../model/quantize/index.ts';
import { DATA, readBytes } from './data-files.ts';
import { percentile } from './workload.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'runtime/models/demo' },
    corpus: { type: 'string', default: DATA.tinyShakespeare },
    threads: { type: 'string', default: '2' },
    context: { type: 'string', default: '512' },
    reps: { type: 'string', default: '40' },
    /** Held-back windows to score (0: every whole window of the held-back 10%). */
    windows: { type: 'string', default: '0' },
    /** Internal: measure one folder's engine session in this (child) process. */
    probe: { type: 'string' },
  },
});
const threads = Number(o.threads);
const context = Number(o.context);
const SHAPE = { blockSize: 16, tileBlocks: 8 };

/** Sequences of `context` tokens, `context - 1` cached, each decoding one: the engine's decode-only step. */
function decodeBatch(arch: Architecture, batch: number): { store: KVStore; entries: StepEntry[] } {
  const P = context - 1;
  const perSeq = Math.ceil(context / SHAPE.blockSize);
  // Blocks from the engine's allocator, the sequences growing in turn as concurrent decodes do.
  const kv = new KVCacheManager({
    numBlocks: batch * perSeq,
    blockSize: SHAPE.blockSize,
    modelId: 'bench',
    enablePrefixCaching: false,
    tileBlocks: SHAPE.tileBlocks,
  });
  for (let i = 1; i <= perSeq; i++)
    for (let b = 0; b < batch; b++) kv.allocateSlots(`s${b}`, Math.min(context, i * SHAPE.blockSize));
  const store = new KVStore(arch, SHAPE, batch * perSeq);
  let seed = 1;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  for (const a of [...store.keys, ...store.values]) for (let i = 0; i < a.length; i++) a[i] = rand();
  const tokens = Array.from({ length: context }, (_, i) => 32 + (i % 90));
  const entries = Array.from({ length: batch }, (_, b) => ({
    tokens,
    numComputed: P,
    numNew: 1,
    blockTable: kv.blockTable(`s${b}`),
    samples: true,
  }));
  return { store, entries };
}

// A child process: the engine session's resident memory, apart from the KV pool and the modules.
if (o.probe !== undefined) {
  const dir = o.probe;
  const manifest = await readManifest(dir);
  const { store, entries } = decodeBatch(manifest.architecture, 8);
  const rss0 = process.memoryUsage.rss();
  const engine = await ort.InferenceSession.create(
    join(dir, manifest.files.engine.path),
    sessionOptions({ intraOpThreads: threads }),
  );
  const rss1 = process.memoryUsage.rss();
  const model: LoadedModel = {
    dir,
    manifest,
    modelId: 'probe',
    engine,
    text: { tokenizer: new ByteTokenizer(), chatTemplate: null },
    release: () => engine.release(),
  };
  const runner = new ModelRunner(model, store);
  for (let i = 0; i < 5; i++) await runner.step(entries, []);
  const rss2 = process.memoryUsage.rss();
  process.stdout.write(
    JSON.stringify({ sessionMb: (rss1 - rss0) / 2 ** 20, afterDecodeMb: (rss2 - rss0) / 2 ** 20 }),
  );
  await engine.release();
  process.exit(0);
}

const log = (...a: unknown[]) => (o.json ? console.error(...a) : console.log(...a));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Variant {
  readonly label: string;
  readonly dtype: ModelManifest['dtype'];
  readonly blockSize?: 32 | 64;
  readonly dir: string;
  readonly weightsBytes: number;
}

/** A model folder loadModel accepts: the weights as given, the three graphs built from `index`, model.json. */
async function writeFolder(
  dir: string,
  base: ModelManifest,
  index: WeightIndex,
  dtype: ModelManifest['dtype'],
  weightsSha256: string,
): Promise<void> {
  const g = buildGraphs(resolveArchitecture(base.architecture), index, 'weights.bin', base.name);
  const files: ModelManifest['files'] = {
    weights: { path: 'weights.bin', sha256: weightsSha256 },
    engine: { path: 'engine.onnx', sha256: sha256(g.engine) },
    reference: { path: 'reference.onnx', sha256: sha256(g.reference) },
    decode_contiguous: { path: 'decode_contiguous.onnx', sha256: sha256(g.decodeContiguous) },
  };
  await writeFile(join(dir, 'engine.onnx'), g.engine);
  await writeFile(join(dir, 'reference.onnx'), g.reference);
  await writeFile(join(dir, 'decode_contiguous.onnx'), g.decodeContiguous);
  await writeFile(join(dir, 'model.json'), JSON.stringify({ ...base, dtype, files }, null, 2));
}

async function prepare(root: string): Promise<Variant[]> {
  const base = await readManifest(o.model);
  const source = join(o.model, base.files.weights.path);
  const index = demoWeightIndex(resolveArchitecture(base.architecture), (await stat(source)).size);
  const variants: Variant[] = [];
  const plan = [
    { label: 'float32', dtype: 'float32' },
    { label: 'float16', dtype: 'float16' },
    { label: 'int4 (block 32)', dtype: 'int4', blockSize: 32 },
    { label: 'int4 (block 64)', dtype: 'int4', blockSize: 64 },
  ] as const;
  for (const p of plan) {
    const dir = join(root, p.label.replace(/\W+/g, '-'));
    await mkdir(dir);
    const weights = join(dir, 'weights.bin');
    if (p.dtype === 'float32') {
      await copyFile(source, weights);
      await writeFolder(dir, base, index, 'float32', sha256(await readFile(weights)));
    } else {
      const blockSize = 'blockSize' in p ? p.blockSize : undefined;
      const c = await convertWeights(source, index, p.dtype, weights, { blockSize });
      await writeFolder(dir, base, c.index, p.dtype, c.sha256);
    }
    variants.push({ ...p, dir, weightsBytes: (await stat(weights)).size });
  }
  return variants;
}

/** The engine session's resident memory, in a fresh process (this one holds every variant). */
function probeRss(dir: string): Promise<{ sessionMb: number; afterDecodeMb: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1]!, ['--probe', dir, '--threads', o.threads, '--context', o.context], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as { sessionMb: number; afterDecodeMb: number })
        : reject(new Error(`probe of ${dir} exited ${code}`)),
    );
  });
}

/** Median decode step (ms, whole step and inside ONNX Runtime) per variant, the variants interleaved. */
async function decodeTimes(models: LoadedModel[], batch: number, reps: number) {
  const runners = models.map((m) => {
    const { store, entries } = decodeBatch(m.manifest.architecture, batch);
    return { runner: new ModelRunner(m, store), entries };
  });
  const step: number[][] = models.map(() => []);
  const run: number[][] = models.map(() => []);
  const warmup = 3;
  for (let i = 0; i < reps + warmup; i++) {
    // A different variant goes first each rep: none always follows the same neighbour.
    for (let j = 0; j < runners.length; j++) {
      const v = (i + j) % runners.length;
      const { runner, entries } = runners[v]!;
      const t = performance.now();
      const out = await runner.step(entries, []);
      if (i >= warmup) {
        step[v]!.push(performance.now() - t);
        run[v]!.push(out.runMs);
      }
    }
  }
  return models.map((_, v) => ({ stepMs: percentile(step[v]!, 50), runMs: percentile(run[v]!, 50) }));
}

/** Mean next-byte cross-entropy (nats) of reference.onnx over windows of `T` + 1 bytes of `text`. */
async function heldOutLoss(dir: string, text: Uint8Array, T: number, windows: number) {
  const session = await ort.InferenceSession.create(
    join(dir, 'reference.onnx'),
    sessionOptions({ intraOpThreads: threads }),
  );
  let nats = 0;
  let tokens = 0;
  try {
    for (let w = 0; w < windows; w++) {
      const window = text.subarray(w * T, w * T + T + 1);
      const ids = BigInt64Array.from(window.subarray(0, T), (b) => BigInt(b));
      const logits = (await session.run({ input_ids: new ort.Tensor('int64', ids, [T]) })).logits!
        .data as Float32Array;
      const V = logits.length / T;
      for (let t = 0; t < T; t++) {
        const row = logits.subarray(t * V, (t + 1) * V);
        let max = -Infinity;
        for (const x of row) max = Math.max(max, x);
        let sum = 0;
        for (const x of row) sum += Math.exp(x - max);
        nats += max + Math.log(sum) - row[window[t + 1]!]!;
        tokens++;
      }
    }
  } finally {
    await session.release();
  }
  return { loss: nats / tokens, tokens };
}

const root = await mkdtemp(join(tmpdir(), 'wg-bench-dtype-'));
try {
  const variants = await prepare(root);
  log(`prepared ${variants.map((v) => v.label).join(', ')} in ${root}`);
  const rss: { sessionMb: number; afterDecodeMb: number }[] = [];
  for (const v of variants) rss.push(await probeRss(v.dir));

  const models = await Promise.all(variants.map((v) => loadModel(v.dir, { intraOpThreads: threads })));
  const reps = Number(o.reps);
  const b1 = await decodeTimes(models, 1, reps);
  log(`decode batch 1: ${b1.map((t, i) => `${variants[i]!.label} ${t.stepMs.toFixed(2)} ms`).join(', ')}`);
  const b8 = await decodeTimes(models, 8, reps);
  log(`decode batch 8: ${b8.map((t, i) => `${variants[i]!.label} ${t.stepMs.toFixed(2)} ms`).join(', ')}`);
  await Promise.all(models.map((m) => m.release()));

  // train.py: n_train = int(len(bytes) * 0.9); the validation split is every byte after.
  const corpus = await readBytes(o.corpus);
  const heldBack = corpus.subarray(Math.floor(corpus.length * 0.9));
  const T = models[0]!.manifest.architecture.context_length;
  const whole = Math.floor((heldBack.length - 1) / T);
  const windows = Number(o.windows) > 0 ? Math.min(Number(o.windows), whole) : whole;
  const losses: { loss: number; tokens: number }[] = [];
  for (const v of variants) {
    losses.push(await heldOutLoss(v.dir, heldBack, T, windows));
    log(`${v.label}: loss ${losses.at(-1)!.loss.toFixed(4)} nats/byte`);
  }

  const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const base = losses[0]!.loss;
  const result = {
    model: o.model,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', threads },
    context,
    reps,
    held_back: { bytes: heldBack.length, windows, window_tokens: T, tokens: losses[0]!.tokens },
    variants: variants.map((v, i) => ({
      dtype: v.dtype,
      ...(v.blockSize && { block_size: v.blockSize }),
      weights_mb: r(v.weightsBytes / 2 ** 20, 3),
      session_rss_mb: r(rss[i]!.sessionMb, 1),
      rss_after_decode_mb: r(rss[i]!.afterDecodeMb, 1),
      decode_b1_ms: r(b1[i]!.stepMs, 3),
      decode_b1_run_ms: r(b1[i]!.runMs, 3),
      decode_b8_ms: r(b8[i]!.stepMs, 3),
      decode_b8_run_ms: r(b8[i]!.runMs, 3),
      loss: r(losses[i]!.loss, 6),
      loss_delta: r(losses[i]!.loss - base, 7),
      perplexity: r(Math.exp(losses[i]!.loss), 4),
      perplexity_delta: r(Math.exp(losses[i]!.loss) - Math.exp(base), 6),
    })),
  };
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else {
    const rows = result.variants.map((v, i) => [
      variants[i]!.label,
      v.weights_mb.toFixed(2),
      v.session_rss_mb.toFixed(1),
      v.rss_after_decode_mb.toFixed(1),
      v.decode_b1_ms.toFixed(2),
      v.decode_b8_ms.toFixed(2),
      v.loss.toFixed(4),
      (v.loss_delta >= 0 ? '+' : '') + v.loss_delta.toFixed(6),
      v.perplexity.toFixed(3),
    ]);
    const head = [
      'dtype',
      'weights MB',
      'session MB',
      'after decode MB',
      'b1 ms',
      'b8 ms',
      'loss',
      'Δ loss',
      'ppl',
    ];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
    const line = (cells: string[]) =>
      cells.map((s, c) => (c ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ');
    console.log(
      `\n${result.machine.cpu}, ${result.machine.cpus} cores, ${threads} threads; decode at ${context} tokens of context (median of ${reps}); loss over ${windows} held-back windows of ${T} bytes (${result.held_back.tokens} tokens)\n`,
    );
    console.log(line(head));
    for (const row of rows) console.log(line(row));
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
