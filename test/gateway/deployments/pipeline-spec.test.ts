// Pipelines as deployments: the fields checked alone (checkDeployment), the plan (topological layers),
// and the checks against the deployments a pipeline calls (the registry's, at deploy time).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkDeployment,
  DeploymentRegistry,
  type DeploymentSpec,
  FileDeploymentStore,
} from '../../../gateway/deployments/index.ts';
import { planPipeline } from '../../../gateway/deployments/pipeline-plan.ts';
import { parseRef, readPath } from '../../../gateway/deployments/pipeline-path.ts';
import { ApiError } from '../../../gateway/errors/index.ts';
import { generative, tensor } from './fixtures.ts';

/** classify (tensor) -> generate (generative, prompt chosen by the class). */
function pipeline(over: Partial<DeploymentSpec> = {}): Record<string, unknown> {
  return {
    name: 'story',
    kind: 'pipeline',
    steps: {
      classify: { deployment: 'iris', inputs: { features: '$.request.features' } },
      generate: {
        deployment: 'llm',
        inputs: { max_tokens: 8, temperature: 0 },
        prompt: {
          by: '$.steps.classify.outputs.probabilities[0]',
          cases: ['A:', 'B: {{ $.request.name }}', 'C:'],
        },
      },
    },
    ...over,
  };
}

function refused(f: () => unknown, param: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.code, 'deployment_invalid');
    assert.equal(e.param, param, e.message);
    assert.match(e.message, message);
    return true;
  });
}

async function registry(...specs: DeploymentSpec[]) {
  const dir = mkdtempSync(join(tmpdir(), 'wg-pipeline-'));
  const store = new FileDeploymentStore(join(dir, 'deployments.json'));
  const r = await DeploymentRegistry.open(store);
  for (const s of specs) await r.put(s);
  return {
    r,
    [Symbol.asyncDispose]: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const llm = () => generative('llm', { inputSchema: undefined });

describe('pipeline specs', () => {
  it('parses the JSON-path subset and reads it without eval', () => {
    const r = parseRef('$.steps.classify.outputs.probabilities[0]');
    assert.deepEqual(r, {
      from: { step: 'classify' },
      path: ['outputs', 'probabilities', 0],
      text: '$.steps.classify.outputs.probabilities[0]',
    });
    assert.deepEqual(
      readPath({ outputs: { probabilities: [[0.1, 0.9]] } }, ['outputs', 'probabilities', 0]),
      [0.1, 0.9],
    );
    assert.equal(readPath({ a: 1 }, ['constructor']), undefined);
    assert.match((parseRef('$.steps.a["x"]') as { error: string }).error, /index is \[N\]/);
    assert.match((parseRef('$.env.HOME') as { error: string }).error, /\$\.request or \$\.steps/);
  });

  it('accepts a pipeline: no model, scaling defaulted', () => {
    const d = checkDeployment(pipeline());
    assert.equal(d.kind, 'pipeline');
    assert.equal(d.model, undefined);
  });

  it('plans independent steps in one layer, dependents after', () => {
    const plan = planPipeline({
      a: { deployment: 'x', inputs: { v: '$.request.v' } },
      b: { deployment: 'x', inputs: { v: '$.request.v' } },
      c: { deployment: 'y', prompt: '{{ $.steps.a.output }} {{ $.steps.b.output }}' },
    });
    assert.ok(plan.ok);
    assert.deepEqual(plan.layers, [['a', 'b'], ['c']]);
  });

  it('refuses a cycle, naming it', () => {
    refused(
      () =>
        checkDeployment(
          pipeline({
            steps: {
              a: { deployment: 'llm', prompt: '{{ $.steps.b.output }}' },
              b: { deployment: 'llm', prompt: '{{ $.steps.a.output }}' },
            },
            output: '$.steps.b',
          }),
        ),
      'steps',
      /cycle: a -> b -> a/,
    );
  });

  it('refuses a reference to a step that is not in the pipeline, and a bad path', () => {
    refused(
      () =>
        checkDeployment(
          pipeline({ steps: { g: { deployment: 'llm', inputs: { prompt: '$.steps.clasify.output' } } } }),
        ),
      'steps.g.inputs.prompt',
      /'clasify' is not a step of this pipeline/,
    );
    refused(
      () =>
        checkDeployment(
          pipeline({ steps: { g: { deployment: 'llm', inputs: { prompt: '$.request..x' } } } }),
        ),
      'steps.g.inputs.prompt',
      /a name after '\.'/,
    );
  });

  it('refuses a model, a missing output among several ends, and steps on other kinds', () => {
    refused(
      () => checkDeployment(pipeline({ model: { path: 'x' } })),
      'model',
      /a pipeline runs other deployments/,
    );
    refused(
      () =>
        checkDeployment(
          pipeline({
            steps: { a: { deployment: 'llm', prompt: 'x' }, b: { deployment: 'llm', prompt: 'y' } },
          }),
        ),
      'output',
      /steps a, b all end it/,
    );
    refused(
      () => checkDeployment({ ...tensor('t'), steps: { a: { deployment: 'x' } } }),
      'steps',
      /for pipelines only/,
    );
    refused(() => checkDeployment({ name: 'g', kind: 'generative' }), 'model', /'model' is required/);
  });
});

describe('pipelines against the deployments they call (registry)', () => {
  it('deploys when every step fits its deployment', async () => {
    await using s = await registry(tensor('iris'), llm());
    await s.r.put(checkDeployment(pipeline()));
    assert.equal(s.r.get('story')?.kind, 'pipeline');
  });

  it('takes an adapter as a generative step', async () => {
    const base = generative('base', { inputSchema: undefined, runtime: { adapters: { slots: 2 } } });
    const fineTune: DeploymentSpec = {
      ...llm(),
      name: 'tuned',
      kind: 'adapter',
      base: 'base',
      model: { path: '/a' },
    };
    delete fineTune.batching;
    await using s = await registry(tensor('iris'), base, checkDeployment(fineTune));
    const steps = pipeline().steps as Record<string, Record<string, unknown>>;
    await s.r.put(
      checkDeployment(
        pipeline({ steps: { ...steps, generate: { ...steps.generate, deployment: 'tuned' } } as never }),
      ),
    );
    assert.deepEqual(
      s.r.pipelinesUsing('tuned').map((d) => d.name),
      ['story'],
    );
  });

  it('refuses an unknown deployment, a pipeline as a step, and type mismatches, naming the field', async () => {
    await using s = await registry(tensor('iris'), llm());
    const refusal = async (spec: Record<string, unknown>, param: string, message: RegExp) => {
      await assert.rejects(s.r.put(checkDeployment(spec)), (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.code, 'deployment_invalid');
        assert.equal(e.param, param, e.message);
        assert.match(e.message, message);
        return true;
      });
    };
    const steps = pipeline().steps as Record<string, Record<string, unknown>>;
    await refusal(
      pipeline({ steps: { ...steps, classify: { deployment: 'nope', inputs: { f: [[1]] } } } as never }),
      'steps.classify.deployment',
      /deployment 'nope' is not deployed/,
    );
    await refusal(
      pipeline({
        steps: { ...steps, classify: { deployment: 'iris', inputs: { features: 'text' } } } as never,
      }),
      'steps.classify.inputs.features',
      /feeds tensor deployment 'iris' a string/,
    );
    await refusal(
      pipeline({
        steps: {
          g: { deployment: 'llm', prompt: 'hi' },
          c: { deployment: 'iris', inputs: { features: '$.steps.g.output' } },
        } as never,
      }),
      'steps.c.inputs.features',
      /a string \(\$\.steps\.g\.output\)/,
    );
    await refusal(
      pipeline({
        steps: {
          c: { deployment: 'iris', inputs: { features: [[1]] } },
          g: { deployment: 'llm', inputs: { prompt: '$.steps.c.outputs.probabilities' } },
        } as never,
      }),
      'steps.g.inputs.prompt',
      /prompt is an array .*a generative step's prompt is a string/,
    );
    await refusal(
      pipeline({
        steps: { ...steps, generate: { deployment: 'llm', inputs: { prompt: 42 } } } as never,
        output: '$.steps.generate',
      }),
      'steps.generate.inputs.prompt',
      /prompt is a number/,
    );
    await refusal(
      pipeline({
        steps: {
          ...steps,
          generate: { deployment: 'llm', prompt: '{{ $.steps.classify.output }}' },
        } as never,
      }),
      'steps.generate.prompt',
      /reads 'output' from step 'classify', a tensor step, which answers \{ outputs/,
    );
    await s.r.put(checkDeployment(pipeline()));
    await refusal(
      pipeline({ name: 'outer', steps: { a: { deployment: 'story', inputs: {} } } as never }),
      'steps.a.deployment',
      /'story' is a pipeline/,
    );
  });

  it("keeps a pipeline's deployments: not deleted, not changed to break it", async () => {
    await using s = await registry(tensor('iris'), llm());
    await s.r.put(checkDeployment(pipeline()));
    await assert.rejects(
      s.r.delete('iris'),
      (e: ApiError) => e.code === 'deployment_in_use' && /pipeline\(s\) story/.test(e.message),
    );
    await assert.rejects(s.r.put(generative('iris')), (e: ApiError) => e.code === 'deployment_in_use');
    await s.r.put(tensor('iris', { scaling: { ...tensor('iris').scaling, maxInstances: 8 } }));
    assert.equal(await s.r.delete('story'), true);
    assert.equal(await s.r.delete('iris'), true);
  });
});
