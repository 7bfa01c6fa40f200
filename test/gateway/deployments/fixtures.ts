// Deployment specs for the deployments and admin tests; each call returns new objects.
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';

const scaling = {
  minInstances: 0,
  maxInstances: 4,
  warmBuffer: 1,
  keepAliveMs: 60_000,
  ttftSloMs: 500,
};

/** A generative deployment whose function body must carry a string `prompt` and may carry `params`. */
export function generative(name: string, over: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return structuredClone({
    name,
    kind: 'generative',
    model: { path: 'runtime/models/demo' },
    inputSchema: {
      type: 'object',
      required: ['prompt'],
      additionalProperties: false,
      properties: {
        prompt: { type: 'string' },
        params: { type: 'object', properties: { temperature: { type: 'number' } } },
      },
    },
    batching: { maxRunningSeqs: 32 },
    scaling,
    ...over,
  });
}

/** A tensor deployment pinned by URL, without an input schema. */
export function tensor(name: string, over: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return structuredClone({
    name,
    kind: 'tensor',
    model: { url: 'https://models.example/iris.onnx', sha256: 'a'.repeat(64) },
    batching: { maxBatchSize: 64, preferredBatchSizes: [16, 32], maxQueueDelayMs: 2 },
    scaling: { ...scaling, minInstances: 1 },
    ...over,
  });
}
