import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { KVCacheManager } from '../engine/kv/index.ts';
import { KVStore } from '../engine/runner/kv-store.ts';
import { ModelRunner } from '../engine/runner/model-runner.ts';
import type { StepEntry, TileShape } from '../engine/runner/step-inputs.ts';
import { type LoadedModel, sessionOptions } from '../model/index.ts';
import { percentile } from './workload.ts';

/**
 * How far apart the paged and the contiguous step's logits may be: per logits row, the largest absolute
 * difference over the row's largest absolute logit, at most 1e-4 (the bound the engine's own logits test,
 * test/runtime/engine/logits-match-reference.test.ts, holds the paged cache to). Both compute the same
 * attention over the same keys and values in float32 and differ only by summation order; an absolute
 * bound would depend on the logits' size (measured: 1.05e-5 absolute, 1.2e-6 relative, on rows whose
 * largest logit is ~8.5). The run fails above it.
 */
export const LOGIT_AGREEMENT_BOUND = 1e-4;

/** Why the paged step disagrees with the contiguous one beyond `bound`, or null when it agrees. */
export function logitDisagreement(relError: number, bound: number): string | null {
  // NaN compares false: a NaN logit is a disagreement, not a pass.
  if (relError <= bound) return null;
  return `paged and contiguous logits differ by ${relError} of the row's largest logit, above the bound ${bound}: the paged step does not compute what the contiguous one does`;
}

/** The largest per-row relative error between two [rows, width] logits arrays (see LOGIT_AGREEMENT_BOUND). */
export function rowRelativeError(got: Float32Array, want: Float32Array, rows: number): number {
  const width = want.length / rows;
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let diff = 0;
    let scale = 0;
    for (let i = r * width; i < (r + 1) * width; i++) {
      diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

export interface LayoutResult {
  readonly contiguousMs: number;
  readonly pagedMs: number;
  /** The part of pagedMs inside ONNX Runtime's run(). */
  readonly pagedRunMs: number;
  readonly pagedGatherMs: number;
  /** Largest |logit difference| between the paged and the contiguous step (same keys and values). */
  readonly maxLogitDiff: number;
  /** The same per row, over the row's largest |logit| (rowRelativeError). */
  readonly logitRelError: number;
}

/**
 * One whole decode step (inputs, the ONNX Runtime run, the new keys and values written back) at `batch`
 * sequences of `context` tokens (context - 1 cached), three ways over the same keys and values: a
 * contiguous per-sequence cache of the whole context (decode_contiguous.onnx), the engine's own step over
 * the paged pool read in place (ModelRunner, engine.onnx's decode-only branch), and the same step with every tile
 * gathered in-graph (the naive paged layout). Paged blocks come from the engine's allocator.
 */
export async function measureLayouts(
  model: LoadedModel,
  batch: number,
  context: number,
  shape: TileShape,
  reps: number,
  threads: number,
  executionProviders: readonly string[] = ['cpu'],
): Promise<LayoutResult> {
  const a = model.manifest.architecture;
  const file = model.manifest.files.decode_contiguous;
  if (!file) throw new Error('model has no decode_contiguous graph');
  const contiguous = await ort.InferenceSession.create(
    join(model.dir, file.path),
    sessionOptions({ intraOpThreads: threads, executionProviders: [...executionProviders] }),
  );
  const P = context - 1;
  const H = a.n_kv_head;
  const D = a.head_dim;
  const { blockSize } = shape;
  const blocksPerSeq = Math.ceil(P / blockSize);
  // Blocks come from the engine's own allocator, the sequences growing in turn one block at a time,
  // as concurrent decodes do: the worst interleaving for where each sequence's blocks land.
  const kv = new KVCacheManager({
    numBlocks: batch * blocksPerSeq,
    blockSize,
    modelId: 'bench',
    enablePrefixCaching: false,
    tileBlocks: shape.tileBlocks,
  });
  for (let i = 1; i <= blocksPerSeq; i++) {
    for (let b = 0; b < batch; b++) kv.allocateSlots(`s${b}`, Math.min(P, i * blockSize));
  }
  const tables = Array.from({ length: batch }, (_, b) => kv.blockTable(`s${b}`));
  const store = new KVStore(a, shape, batch * blocksPerSeq);
  let seed = 1;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const kPast: Float32Array[] = [];
  const vPast: Float32Array[] = [];
  const T = batch * P;
  const newKeys = new Float32Array(a.n_layer * T * H * D);
  const newValues = new Float32Array(a.n_layer * T * H * D);
  // The contiguous cache holds the whole context per sequence (C slots); slot P takes the new token.
  const C = context;
  for (let l = 0; l < a.n_layer; l++) {
    const k = new Float32Array(batch * H * D * C).map(rand);
    const v = new Float32Array(batch * H * C * D).map(rand);
    kPast.push(k);
    vPast.push(v);
    for (let b = 0; b < batch; b++) {
      for (let p = 0; p < P; p++) {
        for (let h = 0; h < H; h++) {
          for (let d = 0; d < D; d++) {
            const at = ((l * T + b * P + p) * H + h) * D + d;
            newKeys[at] = k[((b * H + h) * D + d) * C + p]!;
            newValues[at] = v[((b * H + h) * C + p) * D + d]!;
          }
        }
      }
    }
  }
  const slots = new Int32Array(T);
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < P; p++)
      slots[b * P + p] = tables[b]![Math.floor(p / blockSize)]! * blockSize + (p % blockSize);
  }
  store.write(newKeys, newValues, slots);
  const tokens = Array.from({ length: context }, (_, i) => 32 + (i % 90));
  const entries: StepEntry[] = tables.map((t) => ({
    tokens,
    numComputed: P,
    numNew: 1,
    blockTable: t,
    samples: true,
  }));
  // A contiguous engine's step: its inputs and mask, the run, and the new keys and values written
  // into each sequence's next slot, the same duties as the paged engine's step.
  const contiguousStep = async () => {
    const mask = new Float32Array(batch * C);
    for (let b = 0; b < batch; b++) mask.fill(-1e30, b * C + P, (b + 1) * C);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(entries, (e) => BigInt(e.tokens[P]!)),
        [batch],
      ),
      positions: new ort.Tensor(
        'int64',
        BigInt64Array.from(entries, (e) => BigInt(e.numComputed)),
        [batch],
      ),
      past_mask: new ort.Tensor('float32', mask, [batch, 1, 1, C]),
    };
    for (let l = 0; l < a.n_layer; l++) {
      feeds[`k_past_${l}`] = new ort.Tensor('float32', kPast[l]!, [batch, H, D, C]);
      feeds[`v_past_${l}`] = new ort.Tensor('float32', vPast[l]!, [batch, H, C, D]);
    }
    const out = await contiguous.run(feeds);
    const nk = out.new_keys!.data as Float32Array;
    const nv = out.new_values!.data as Float32Array;
    for (let l = 0; l < a.n_layer; l++) {
      for (let b = 0; b < batch; b++) {
        for (let h = 0; h < H; h++) {
          const src = ((l * batch + b) * H + h) * D;
          for (let d = 0; d < D; d++) {
            kPast[l]![((b * H + h) * D + d) * C + P] = nk[src + d]!;
            vPast[l]![((b * H + h) * C + P) * D + d] = nv[src + d]!;
          }
        }
      }
    }
    return out.logits!.data as Float32Array;
  };
  // The engine's own step (layout, ONNX Runtime call, KV write-back); writing the new token's slot
  // again each repetition changes nothing the next one reads.
  const inPlace = new ModelRunner(model, store);
  const naive = new ModelRunner(model, store, { inPlace: false });
  let lastRunMs = 0;
  const pagedStep = async (direct: boolean) => {
    const out = await (direct ? inPlace : naive).step(entries, []);
    lastRunMs = out.runMs;
    return out.logits;
  };
  const timed = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  // Interleaved rep by rep, so drift on a shared machine hits each variant alike.
  const c: number[] = [];
  const p: number[] = [];
  const pRun: number[] = [];
  const g: number[] = [];
  for (let i = 0; i < reps + 3; i++) {
    const ci = await timed(contiguousStep);
    const pi = await timed(() => pagedStep(true));
    const pr = lastRunMs;
    const gi = await timed(() => pagedStep(false));
    if (i < 3) continue; // warm-up
    c.push(ci);
    p.push(pi);
    pRun.push(pr);
    g.push(gi);
  }
  const cl = await contiguousStep();
  const pl = await pagedStep(true);
  let maxLogitDiff = 0;
  for (let i = 0; i < cl.length; i++) maxLogitDiff = Math.max(maxLogitDiff, Math.abs(cl[i]! - pl[i]!));
  await contiguous.release();
  return {
    contiguousMs: percentile(c, 50),
    pagedMs: percentile(p, 50),
    pagedRunMs: percentile(pRun, 50),
    pagedGatherMs: percentile(g, 50),
    maxLogitDiff,
    logitRelError: rowRelativeError(pl, cl, batch),
  };
}
