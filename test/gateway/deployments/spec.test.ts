import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDeployment, SCALING_DEFAULTS } from '../../../gateway/deployments/index.ts';
import { ApiError } from '../../../gateway/errors/index.ts';

const good = {
  name: 'shakespeare',
  kind: 'generative',
  model: { path: 'runtime/models/demo' },
  inputSchema: { type: 'object', required: ['prompt'], properties: { prompt: { type: 'string' } } },
  batching: { maxRunningSeqs: 32 },
  scaling: { minInstances: 0, maxInstances: 4, warmBuffer: 1, keepAliveMs: 60_000, ttftSloMs: 500 },
};

function refusal(value: unknown): ApiError {
  try {
    checkDeployment(value);
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return e;
  }
  assert.fail('expected the deployment to be refused');
}

describe('deployment spec', () => {
  it('accepts a complete generative deployment and a tensor one pinned by URL', () => {
    assert.equal(checkDeployment(good).name, 'shakespeare');
    const tensor = {
      ...good,
      name: 'iris',
      kind: 'tensor',
      model: { url: 'https://models.example/iris.onnx', sha256: 'a'.repeat(64) },
      batching: { maxBatchSize: 64, preferredBatchSizes: [16, 32], maxQueueDelayMs: 2 },
    };
    assert.equal(checkDeployment(tensor).kind, 'tensor');
  });

  it('takes an adapter as { kind: adapter, base, model: { path } } and refuses what it cannot hold', () => {
    const adapter = { name: 'poet', kind: 'adapter', base: 'shakespeare', model: { path: '/adapters/poet' } };
    assert.equal(checkDeployment(adapter).base, 'shakespeare');
    assert.equal(checkDeployment({ ...adapter, promptTemplate: 'Write: {{topic}}' }).kind, 'adapter');
    const cases: [unknown, string, RegExp][] = [
      [{ ...adapter, base: undefined }, 'base', /needs base/],
      [{ ...adapter, base: 'poet' }, 'base', /its own base/],
      [{ ...adapter, model: { url: 'https://x/a', sha256: 'a'.repeat(64) } }, 'model', /must be \{ path \}/],
      [{ ...adapter, runtime: { kvDtype: 'float16' } }, 'runtime', /set runtime on 'shakespeare'/],
      [{ ...adapter, batching: { maxRunningSeqs: 4 } }, 'batching', /base's instances/],
      [{ ...good, base: 'x' }, 'base', /for adapters only/],
    ];
    for (const [value, param, message] of cases) {
      const e = refusal(value);
      assert.equal(e.code, 'deployment_invalid');
      assert.equal(e.param, param);
      assert.match(e.message, message);
    }
  });

  it('sets the documented scaling defaults for the fields a deployment leaves out', () => {
    const { scaling: _, ...bare } = good;
    assert.deepEqual(checkDeployment(bare).scaling, {
      minInstances: 0,
      maxInstances: 4,
      warmBuffer: 0,
      keepAliveMs: 300_000,
      ttftSloMs: 1000,
    });
    assert.deepEqual(checkDeployment({ ...bare, scaling: {} }).scaling, SCALING_DEFAULTS);
    // What is given is kept; only what is missing is filled in.
    const some = checkDeployment({ ...bare, scaling: { keepAliveMs: 5000, policy: 'reactive' } }).scaling;
    assert.deepEqual(some, { ...SCALING_DEFAULTS, keepAliveMs: 5000, policy: 'reactive' });
    // A minInstances above the default maxInstances raises it rather than being refused...
    assert.deepEqual(checkDeployment({ ...bare, scaling: { minInstances: 6 } }).scaling, {
      ...SCALING_DEFAULTS,
      minInstances: 6,
      maxInstances: 6,
    });
    // ...but not a maxInstances the user gave.
    assert.equal(
      refusal({ ...bare, scaling: { minInstances: 6, maxInstances: 2 } }).param,
      'scaling.minInstances',
    );
    assert.equal(checkDeployment(good).scaling.ttftSloMs, 500);
  });

  it('leaves the received object as it was', () => {
    const received = structuredClone({ ...good, scaling: { ttftSloMs: 250 } });
    const before = structuredClone(received);
    assert.equal(checkDeployment(received).scaling.maxInstances, 4);
    assert.deepEqual(received, before);
  });

  const cases: [string, unknown, string][] = [
    ['no name', { ...good, name: undefined }, 'name'],
    ['a name with spaces', { ...good, name: 'my model' }, 'name'],
    ['an unknown kind', { ...good, kind: 'video' }, 'kind'],
    ['a URL without sha256', { ...good, model: { url: 'https://x/y.onnx' } }, 'model'],
    ['an unknown field', { ...good, replicas: 3 }, 'replicas'],
    ['a null ttftSloMs', { ...good, scaling: { ...good.scaling, ttftSloMs: null } }, 'scaling.ttftSloMs'],
    ['a scaling that is not an object', { ...good, scaling: 'fast' }, 'scaling'],
    ['an unknown scaling field', { ...good, scaling: { ...good.scaling, cooldown: 1 } }, 'scaling.cooldown'],
    ['min above max', { ...good, scaling: { ...good.scaling, minInstances: 5 } }, 'scaling.minInstances'],
    [
      'a negative keep-alive',
      { ...good, scaling: { ...good.scaling, keepAliveMs: -1 } },
      'scaling.keepAliveMs',
    ],
    [
      'preferred batch above max',
      { ...good, kind: 'tensor', batching: { maxBatchSize: 8, preferredBatchSizes: [16] } },
      'batching.preferredBatchSizes',
    ],
    ['an input schema that is not a schema', { ...good, inputSchema: { type: 'banana' } }, 'inputSchema'],
    ['an async input schema', { ...good, inputSchema: { $async: true, type: 'object' } }, 'inputSchema'],
  ];
  for (const [name, value, param] of cases) {
    it(`refuses ${name} (deployment_invalid, ${param})`, () => {
      const e = refusal(value);
      assert.equal(e.code, 'deployment_invalid');
      assert.equal(e.status, 400);
      assert.equal(e.param, param, e.message);
    });
  }
});
