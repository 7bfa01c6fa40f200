import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, float, type Graph } from '../onnx/index.ts';
import { dimsOf } from './layers.ts';
import { ropeInvFreq } from './rope.ts';
import type { PagedPieces } from './step-pack.ts';

/*
 * The device step's attention through ONNX Runtime's PagedAttention (com.microsoft), which its WebGPU
 * provider implements for float16: the kernel reads each sequence's keys and values through its block
 * table, and, with the cache outputs left out, writes the step's new keys and values into the pools in
 * place. So a step neither gathers each sequence's blocks into a tile nor returns a copy of every pool
 * (the fused step's two costs that grow with the batch and with the pool, BENCHMARKS.md), and a layer's
 * attention is one node where the fused step has about fifteen.
 *
 * Its contract, which the runner keeps (engine/runner/paged-step-inputs.ts): the step's tokens grouped by
 * sequence in order (seq_starts), each sequence's new tokens at positions past_len.. (RoPE's positions
 * too: the kernel rotates q and k itself from cos/sin tables made here), pools [blocks, block size,
 * KVH, Dh] in float16 with a power-of-two block size of 16 or more, and the query and kv lengths' upper
 * bounds in a host tensor (`attention_bounds`), so the kernel reads no lengths back from the device.
 * No CPU kernel exists: the CPU runs the fused step.
 */

const { FLOAT: F, FLOAT16 } = DataType;

/** [2] int32 on the host: the step's longest new-token run and its longest sequence (PagedAttention's bounds). */
export const ATTENTION_BOUNDS = 'attention_bounds';

/**
 * Why PagedAttention cannot run this model, or undefined. Its WebGPU kernel takes head sizes that are a
 * multiple of 16 (measured: 8 is refused at run time).
 */
export function pagedAttentionUnfit(a: ResolvedArchitecture): string | undefined {
  return a.head_dim % 16 === 0 ? undefined : `head size ${a.head_dim} is not a multiple of 16`;
}

/** The model's RoPE as float16 tables [context, rotated dims / 2], for the kernel's own rotation. */
export interface PagedRotary {
  readonly cos: string;
  readonly sin: string;
}

/** cos/sin of every position up to the context length, made once when the session opens (a folded Cast). */
export function pagedRotary(g: Graph, a: ResolvedArchitecture): PagedRotary | undefined {
  if (a.position !== 'rope') return undefined;
  const inv = ropeInvFreq(a.rope!, a.head_dim);
  const N = a.context_length;
  const cos = new Array<number>(N * inv.length);
  const sin = new Array<number>(N * inv.length);
  for (let p = 0; p < N; p++)
    inv.forEach((f, i) => {
      // float32 angles, as HF computes them (rope.ts), then float16 as the kernel reads them.
      const angle = Math.fround(p * Math.fround(f));
      cos[p * inv.length + i] = Math.cos(angle);
      sin[p * inv.length + i] = Math.sin(angle);
    });
  const half = (v: number[]) => g.op('Cast', [g.const(v, 'float32', [N, inv.length])], { to: FLOAT16 });
  return { cos: half(cos), sin: half(sin) };
}

/**
 * Layer l's attention output [T, H*Dh] (heads in the model's order) from its q, k and v packed side by
 * side ([T, (H + 2*KVH)*Dh], not rotated), written into and read from the float16 pools [blocks, block
 * size, KVH, Dh] in place. The kernel runs in float16: a float32 step casts q, k and v to it and the
 * output back; a float16 step (`half`) feeds them as they are.
 */
export function pagedAttention(
  g: Graph,
  a: ResolvedArchitecture,
  qkv: string,
  kPool: string,
  vPool: string,
  p: PagedPieces,
  rotary: PagedRotary | undefined,
  bounds: string,
  halfStep = false,
): string {
  const { H, KVH, Dh } = dimsOf(a);
  const half = halfStep ? qkv : g.op('Cast', [qkv], { to: FLOAT16 });
  // Inputs by position: 8/9 cos and sin, 10-15 unused (slot mapping, sinks, q/k norms, scales), 16 bounds.
  const inputs = [half, '', '', kPool, vPool, p.seqStarts, p.pastLens, p.blockTable];
  inputs.push(rotary?.cos ?? '', rotary?.sin ?? '', '', '', '', '', '', '', bounds);
  const out = g.contrib('PagedAttention', inputs, {
    num_heads: H,
    kv_num_heads: KVH,
    scale: float(1 / Math.sqrt(Dh)),
    do_rotary: rotary ? 1 : 0,
    rotary_interleaved: 0,
  });
  return halfStep ? out : g.op('Cast', [out], { to: F });
}
