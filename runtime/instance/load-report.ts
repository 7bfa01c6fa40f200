import type { InstanceState, KvPoolReport, RuntimeInstance } from './instance.ts';

/**
 * What the gateway routes on: GET /load answers it, and every /generate and /infer response carries it
 * as header x-warmgate-load (compact JSON), so the gateway needs no extra poll. Engine fields are
 * present for generative instances once the engine exists.
 */
export interface LoadReport {
  readonly model: string;
  readonly kind: 'generative' | 'tensor';
  readonly state: InstanceState;
  readonly executionProvider: string | null;
  /** On webgpu with --gpu: the host's GPU it runs on (index in PCI bus order, and its PCI address). */
  readonly gpu?: { readonly index: number; readonly pci: string };
  /**
   * Where a generative model's KV pool lives and how its step attends: `host`, or on the provider's
   * device as `dtype`, the step `paged` (PagedAttention, pools written in place) or `fused`.
   */
  readonly kvPool?: KvPoolReport;
  /** Requests in flight here: generations being streamed and tensor requests. */
  readonly outstanding: number;
  readonly running?: number;
  readonly waiting?: number;
  readonly kvUsagePct?: number;
  readonly kvFreeBlocks?: number;
  readonly kvTotalBlocks?: number;
  readonly prefixHitRate?: number;
  /** Cumulative prompt tokens that hit the prefix cache, and that were looked up in it. */
  readonly prefixHitTokens?: number;
  readonly prefixQueryTokens?: number;
  readonly recentTokensPerSec?: number;
  /**
   * The adapters it holds (loaded, or loading), so the gateway routes their requests here. In GET /load
   * only: the list can be long, and the header rides on every response.
   */
  readonly adapters?: readonly string[];
  /** A stateful tensor model's sequences open here. */
  readonly sequences?: number;
}

export const LOAD_HEADER = 'x-warmgate-load';

export function loadReport(inst: RuntimeInstance): LoadReport {
  const s = inst.engine?.stats();
  return {
    model: inst.modelName,
    kind: inst.kind,
    state: inst.state,
    executionProvider: inst.executionProvider,
    ...(inst.gpu && { gpu: { index: inst.gpu.index, pci: inst.gpu.pci } }),
    ...(inst.kvPool && { kvPool: inst.kvPool }),
    outstanding: inst.outstanding,
    ...(inst.sequences && { sequences: inst.sequences.open }),
    ...(s
      ? {
          running: s.running,
          waiting: s.waiting,
          kvUsagePct: s.kvUsagePct,
          kvFreeBlocks: s.kvFreeBlocks,
          kvTotalBlocks: s.kvTotalBlocks,
          prefixHitRate: s.prefixHitRate,
          prefixHitTokens: s.prefixHitTokens,
          prefixQueryTokens: s.prefixQueryTokens,
          recentTokensPerSec: s.recentTokensPerSec,
        }
      : {}),
  };
}
