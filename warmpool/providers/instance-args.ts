import type { DeploymentSpec } from '../../gateway/deployments/index.ts';

/**
 * The runtime instance's command-line flags for a deployment (see runtime/instance/main.ts). Throws for
 * a URL artifact: the provider resolves it to a local folder (warmpool/artifacts) before calling this.
 * `pinGpu` false leaves out `runtime.gpu` (a pod sees only the GPU its device plugin gave it).
 */
export function instanceArgs(d: DeploymentSpec, host: string, port: number, pinGpu = true): string[] {
  if (d.model === undefined) throw new Error(`deployment ${d.name}: a ${d.kind} has no instances of its own`);
  if (!('path' in d.model))
    throw new Error(
      `deployment ${d.name}: model ${d.model.url} is a URL artifact; resolve it to a local folder first`,
    );
  const b = d.batching ?? {};
  const flags: [string, string | undefined][] = [
    ['--kv-mb', b.kvCacheBytes === undefined ? undefined : String(b.kvCacheBytes / 2 ** 20)],
    ['--max-running-seqs', b.maxRunningSeqs?.toString()],
    ['--max-batched-tokens', b.maxBatchedTokens?.toString()],
    ['--max-batch-size', b.maxBatchSize?.toString()],
    ['--preferred-batch-sizes', b.preferredBatchSizes?.join(',')],
    ['--max-queue-delay-ms', b.maxQueueDelayMs?.toString()],
    ['--ep', d.runtime?.executionProviders?.join(',')],
    ['--kv-dtype', d.runtime?.kvDtype],
    ['--gpu', pinGpu ? d.runtime?.gpu?.toString() : undefined],
    ['--adapter-slots', d.runtime?.adapters?.slots.toString()],
    ['--adapter-max-rank', d.runtime?.adapters?.maxRank?.toString()],
    ['--adapter-targets', d.runtime?.adapters?.targets?.join(',')],
    ['--sequence-state', d.sequence?.state.map((p) => `${p.input}:${p.output}`).join(',')],
    ['--sequence-idle-ms', d.sequence?.idleTimeoutMs?.toString()],
    ['--max-sequences', d.sequence?.maxSequences?.toString()],
  ];
  return [
    '--model',
    d.model.path,
    '--kind',
    d.kind,
    '--host',
    host,
    '--port',
    String(port),
    ...flags.flatMap(([f, v]) => (v === undefined || v === '' ? [] : [f, v])),
    ...(d.runtime?.requireExecutionProvider ? ['--ep-required'] : []),
  ];
}
