import { parseArgs } from 'node:util';
import { LORA_TARGETS, type LoraGraphSpec, type LoraTarget, MAX_LORA_RANK } from '../model/graph/index.ts';
import type { EngineConfig } from '../engine/index.ts';
import type { KvDtype } from '../model/index.ts';
import {
  type BatchingConfig,
  DEFAULT_MAX_SEQUENCES,
  DEFAULT_SEQUENCE_IDLE_MS,
  type SequenceConfig,
} from '../tensor/index.ts';
import { EXECUTION_PROVIDERS } from './execution-providers.ts';

/** Everything a runtime instance process is told on its command line (or in a standby's assignment). */
export interface InstanceConfig {
  /** Without a model the process is a standby: ONNX Runtime loaded, waiting for POST /assign. */
  readonly standby: boolean;
  readonly model: string;
  readonly kind: 'generative' | 'tensor';
  readonly host: string;
  readonly port: number;
  readonly engine: Partial<EngineConfig>;
  readonly batching: BatchingConfig;
  readonly drainTimeoutMs: number;
  readonly executionProviders: string[];
  readonly requireExecutionProvider: boolean;
  /** The host's GPU webgpu runs on (--gpu; gpu-select.ts); unset: the first Vulkan lists. */
  readonly gpu?: number;
  /** How a GPU instance stores its device-resident KV pool (a CPU instance keeps float32 host pools). */
  readonly kvDtype: KvDtype;
  /** Where the KV pool lives (--kv); unset: on the device on webgpu, host arrays otherwise. */
  readonly kv?: 'host' | 'device';
  /** Where ONNX Runtime's optimized graphs are kept between starts on this host; none when unset. */
  readonly graphCacheDir?: string;
  /** Drain and exit when the parent process ends (no controller could adopt this instance). */
  readonly exitWithParent: boolean;
  /** LoRA adapter slots (--adapter-slots, --adapter-max-rank, --adapter-targets); none: base model only. */
  readonly adapters?: LoraGraphSpec;
  /** A stateful tensor model's state pairs and limits (--sequence-state ...); none: stateless. */
  readonly sequence?: SequenceConfig;
}

/** A flag that is wrong; the message names it and says what it takes. */
export class InstanceArgsError extends Error {
  override name = 'InstanceArgsError';
}

const num = (flag: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new InstanceArgsError(`--${flag} must be an integer ≥ ${min}, got ${v}`);
  return n;
};

const megabytes = (v: string): number => {
  const mb = Number(v);
  if (!(mb > 0)) throw new InstanceArgsError(`--kv-mb must be a positive number of MiB, got ${v}`);
  return Math.floor(mb * 2 ** 20);
};

/** Parses main.ts's flags; throws InstanceArgsError naming the first bad one. */
export function parseInstanceArgs(argv: readonly string[]): InstanceConfig {
  let o;
  try {
    ({ values: o } = parseArgs({
      args: [...argv],
      options: {
        standby: { type: 'boolean', default: false },
        model: { type: 'string', default: 'runtime/models/demo' },
        kind: { type: 'string', default: 'generative' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '9000' },
        'kv-mb': { type: 'string', default: '64' },
        'drain-timeout-ms': { type: 'string', default: '30000' },
        ep: { type: 'string', default: 'cpu' },
        'ep-required': { type: 'boolean', default: false },
        gpu: { type: 'string' },
        'kv-dtype': { type: 'string', default: 'float32' },
        // host | device: device on the CPU runs the device-resident contract there, as CI tests it.
        kv: { type: 'string' },
        'intra-op-threads': { type: 'string' },
        'graph-cache': { type: 'string' },
        // LoRA adapters: slots resident at once (0: none), the rank each is padded to, the projections.
        'adapter-slots': { type: 'string', default: '0' },
        'adapter-max-rank': { type: 'string', default: '16' },
        'adapter-targets': { type: 'string', default: LORA_TARGETS.join(',') },
        'exit-with-parent': { type: 'boolean', default: false },
        // Generative batching limits (the engine validates them and names a bad one).
        'max-running-seqs': { type: 'string' },
        'max-batched-tokens': { type: 'string' },
        // Most samples (n) one request may ask for.
        'max-n': { type: 'string' },
        // Unread events a stalled stream may hold before its request is cancelled.
        'max-buffered-events': { type: 'string' },
        // Tensor dynamic batching.
        'max-batch-size': { type: 'string', default: '64' },
        'preferred-batch-sizes': { type: 'string', default: '' },
        'max-queue-delay-ms': { type: 'string', default: '2' },
        // Stateful tensor sequences: state pairs as input:output, comma separated (none: stateless).
        'sequence-state': { type: 'string' },
        'sequence-idle-ms': { type: 'string' },
        'max-sequences': { type: 'string' },
      },
    }));
  } catch (e) {
    throw new InstanceArgsError((e as Error).message);
  }
  if (o.kind !== 'generative' && o.kind !== 'tensor')
    throw new InstanceArgsError(`--kind must be generative or tensor, got ${o.kind}`);
  const providers = o.ep.split(',').map((p) => p.trim());
  for (const p of providers) {
    if (!(EXECUTION_PROVIDERS as readonly string[]).includes(p))
      throw new InstanceArgsError(`--ep takes a comma list of ${EXECUTION_PROVIDERS.join(', ')}; got ${p}`);
  }
  const gpu = num('gpu', o.gpu, 0);
  if (gpu !== undefined && !providers.includes('webgpu'))
    throw new InstanceArgsError(
      `--gpu picks the GPU the webgpu provider runs on: add webgpu to --ep (got ${o.ep})`,
    );
  const kvDtype = o['kv-dtype'];
  if (kvDtype !== 'float32' && kvDtype !== 'float16')
    throw new InstanceArgsError(`--kv-dtype must be float32 or float16, got ${kvDtype}`);
  if (o.kv !== undefined && o.kv !== 'host' && o.kv !== 'device')
    throw new InstanceArgsError(`--kv must be host or device, got ${o.kv}`);
  const engineLimits = Object.fromEntries(
    Object.entries({
      intraOpThreads: num('intra-op-threads', o['intra-op-threads'], 0),
      maxRunningSeqs: num('max-running-seqs', o['max-running-seqs'], 1),
      maxBatchedTokens: num('max-batched-tokens', o['max-batched-tokens'], 1),
      maxN: num('max-n', o['max-n'], 1),
      maxBufferedEvents: num('max-buffered-events', o['max-buffered-events'], 1),
    }).filter(([, v]) => v !== undefined),
  );
  const maxBatchSize = num('max-batch-size', o['max-batch-size'], 1)!;
  const preferredBatchSizes = o['preferred-batch-sizes']
    ? o['preferred-batch-sizes'].split(',').map((v) => num('preferred-batch-sizes', v.trim(), 1)!)
    : [];
  if (preferredBatchSizes.some((n) => n > maxBatchSize))
    throw new InstanceArgsError(`--preferred-batch-sizes must not exceed --max-batch-size (${maxBatchSize})`);
  return {
    standby: o.standby,
    model: o.model,
    kind: o.kind,
    host: o.host,
    port: num('port', o.port, 0)!,
    engine: { kvCacheBytes: megabytes(o['kv-mb']), ...engineLimits },
    batching: {
      maxBatchSize,
      preferredBatchSizes,
      maxQueueDelayMs: num('max-queue-delay-ms', o['max-queue-delay-ms'], 0)!,
    },
    drainTimeoutMs: num('drain-timeout-ms', o['drain-timeout-ms'], 0)!,
    executionProviders: providers,
    requireExecutionProvider: o['ep-required'],
    ...(gpu !== undefined && { gpu }),
    kvDtype,
    ...(o.kv !== undefined && { kv: o.kv }),
    ...(o['graph-cache'] && { graphCacheDir: o['graph-cache'] }),
    exitWithParent: o['exit-with-parent'],
    ...adapterSlots(o['adapter-slots'], o['adapter-max-rank'], o['adapter-targets']),
    ...sequenceFlags(o['sequence-state'], o['sequence-idle-ms'], o['max-sequences']),
  };
}

/** The sequence batcher the flags ask for; its fit to the model is checked when the model loads. */
function sequenceFlags(
  state: string | undefined,
  idleMs: string | undefined,
  max: string | undefined,
): { sequence?: SequenceConfig } {
  if (state === undefined) {
    if (idleMs !== undefined || max !== undefined)
      throw new InstanceArgsError('--sequence-idle-ms and --max-sequences need --sequence-state');
    return {};
  }
  const pairs = state.split(',').map((p) => {
    const [input, output, ...rest] = p.trim().split(':');
    if (!input || !output || rest.length)
      throw new InstanceArgsError(`--sequence-state takes input:output pairs, comma separated; got ${p}`);
    return { input, output };
  });
  return {
    sequence: {
      state: pairs,
      idleTimeoutMs: num('sequence-idle-ms', idleMs, 1) ?? DEFAULT_SEQUENCE_IDLE_MS,
      maxSequences: num('max-sequences', max, 1) ?? DEFAULT_MAX_SEQUENCES,
    },
  };
}

/** The adapter slots the flags ask for: none at --adapter-slots 0; slot 0 (the base) comes on top. */
function adapterSlots(slots: string, maxRank: string, targets: string): { adapters?: LoraGraphSpec } {
  const n = num('adapter-slots', slots, 0)!;
  if (n === 0) return {};
  const rank = num('adapter-max-rank', maxRank, 1)!;
  if (rank > MAX_LORA_RANK)
    throw new InstanceArgsError(`--adapter-max-rank must be at most ${MAX_LORA_RANK}, got ${rank}`);
  const list = targets.split(',').map((t) => t.trim());
  for (const t of list) {
    if (!(LORA_TARGETS as readonly string[]).includes(t))
      throw new InstanceArgsError(
        `--adapter-targets takes a comma list of ${LORA_TARGETS.join(', ')}; got ${t}`,
      );
  }
  return { adapters: { slots: n + 1, maxRank: rank, targets: list as LoraTarget[] } };
}
