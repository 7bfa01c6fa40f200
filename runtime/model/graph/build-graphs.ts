import type { ResolvedArchitecture } from '../architecture.ts';
import { encodeModel, type Graph } from '../onnx/index.ts';
import { checkArchitecture } from './check-architecture.ts';
import { decodeContiguousGraph } from './decode-contiguous.ts';
import {
  type ComputeDtype,
  deviceEngineGraph,
  type KvDtype,
  kvCopyGraph,
  kvPoolInitGraph,
} from './device-engine.ts';
import type { StepAttention } from './step-pack.ts';
import { engineGraph } from './engine.ts';
import type { LoraGraphSpec } from './lora.ts';
import { loraStacksInitGraph, loraStacksWriteGraph } from './lora-stacks.ts';
import { withMatMulNBits } from './matmul-nbits.ts';
import { referenceGraph } from './reference.ts';
import { checkWeightIndex, type WeightIndex } from './weight-index.ts';

export interface ModelGraphs {
  readonly engine: Uint8Array;
  readonly reference: Uint8Array;
  readonly decodeContiguous: Uint8Array;
}

/**
 * A model's three ONNX files, all reading one weights file (`weightsLocation`, relative to the folder the
 * graphs are written to) through `index`. `name` goes into each graph's metadata (warmgate.model).
 * Each weight is read as the index stores it: float32, float16 (cast to float32 where it is read) or
 * 4-bit blocks (through ONNX Runtime's MatMulNBits); activations and the KV cache are float32 always.
 */
export function buildGraphs(
  arch: ResolvedArchitecture,
  index: WeightIndex,
  weightsLocation = 'weights.bin',
  name = 'warmgate-model',
): ModelGraphs {
  checkArchitecture(arch);
  checkWeightIndex(arch, index);
  const w = { index, location: weightsLocation };
  const encode = (role: string, g: Graph) =>
    encodeModel(withMatMulNBits(g.model({ 'warmgate.model': name, 'warmgate.role': role }), index));
  return {
    engine: encode('engine', engineGraph(arch, w)),
    reference: encode('reference', referenceGraph(arch, w)),
    decodeContiguous: encode('decode_contiguous', decodeContiguousGraph(arch, w)),
  };
}

export interface DeviceGraphs {
  /** The step graph over device-resident pools (device-engine.ts). */
  readonly step: Uint8Array;
  /** Zeroed pools made on the device. */
  readonly init: Uint8Array;
  /** Copy-on-write of blocks within the pools. */
  readonly copy: Uint8Array;
  /** With adapters: the slot stacks made zeroed on the device, and a slot's rows written into them. */
  readonly lora?: { readonly init: Uint8Array; readonly write: Uint8Array };
}

/**
 * The graphs of the device-resident KV contract, reading the weights through `index` as engine.onnx does;
 * with `lora`, the step takes the adapter inputs of lora.ts and the stacks' graphs come with it;
 * `attention` picks the step's attention (step-pack.ts: fused, or PagedAttention on float16 pools),
 * `compute` the type it computes in (device-engine.ts), `eosTokenIds` what the greedy rows can leave out
 * of their choice (greedy-rows.ts).
 */
export function buildDeviceGraphs(
  arch: ResolvedArchitecture,
  index: WeightIndex,
  kvDtype: KvDtype,
  weightsLocation = 'weights.bin',
  name = 'warmgate-model',
  lora?: LoraGraphSpec,
  attention: StepAttention = 'fused',
  compute: ComputeDtype = 'float32',
  eosTokenIds: readonly number[] = [],
): DeviceGraphs {
  checkArchitecture(arch);
  checkWeightIndex(arch, index);
  const w = { index, location: weightsLocation };
  const meta = (role: string) => ({ 'warmgate.model': name, 'warmgate.role': role });
  const stepRole = lora ? 'device_engine_lora' : 'device_engine';
  return {
    step: encodeModel(
      withMatMulNBits(
        deviceEngineGraph(arch, w, kvDtype, lora, attention, compute, eosTokenIds).model(meta(stepRole)),
        index,
      ),
    ),
    init: encodeModel(kvPoolInitGraph(arch, kvDtype, attention).model(meta('kv_pool_init'))),
    copy: encodeModel(kvCopyGraph(arch, kvDtype, attention).model(meta('kv_copy'))),
    ...(lora && {
      lora: {
        init: encodeModel(loraStacksInitGraph(arch, lora).model(meta('lora_stacks_init'))),
        write: encodeModel(loraStacksWriteGraph(arch, lora).model(meta('lora_stacks_write'))),
      },
    }),
  };
}

/**
 * engine.onnx with the adapter inputs of lora.ts, reading the weights through `index` as engine.onnx
 * does: built at load from the model folder's own engine.onnx (see adapter-engine.ts), never stored.
 */
export function buildAdapterEngineGraph(
  arch: ResolvedArchitecture,
  index: WeightIndex,
  lora: LoraGraphSpec,
  weightsLocation = 'weights.bin',
  name = 'warmgate-model',
): Uint8Array {
  checkArchitecture(arch);
  checkWeightIndex(arch, index);
  const g = engineGraph(arch, { index, location: weightsLocation }, lora);
  return encodeModel(
    withMatMulNBits(g.model({ 'warmgate.model': name, 'warmgate.role': 'engine_lora' }), index),
  );
}
