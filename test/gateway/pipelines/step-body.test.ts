// A step's function body from the request and earlier answers: pure, so every case is checked here
// without instances (test/e2e/pipelines.test.ts runs them for real).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSpec, PipelineStep } from '../../../gateway/deployments/index.ts';
import { ApiError } from '../../../gateway/errors/index.ts';
import { stepBody } from '../../../gateway/pipelines/step-body.ts';

const tensor = { name: 't', kind: 'tensor' } as DeploymentSpec;
const generative = { name: 'g', kind: 'generative' } as DeploymentSpec;
const state = {
  request: { features: [[1, 2]], name: 'Tybalt', n: 3 },
  answers: new Map<string, unknown>([
    ['classify', { outputs: { probabilities: [[0.1, 0.7, 0.2]] } }],
    ['label', { output: 'JULIET' }],
  ]),
};

const body = (step: PipelineStep, target = generative, stream = false) =>
  stepBody(step, target, state, stream);

function fails(f: () => unknown, code: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof ApiError && e.code === code && message.test(e.message));
}

describe('a pipeline step body', () => {
  it("puts a tensor step's inputs under inputs, references read and literals kept", () => {
    assert.deepEqual(
      body({ deployment: 't', inputs: { features: '$.request.features', bias: [[0]] } }, tensor),
      {
        inputs: { features: [[1, 2]], bias: [[0]] },
      },
    );
  });

  it('fills a prompt template and keeps literal fields; $$ escapes a literal $', () => {
    assert.deepEqual(
      body({
        deployment: 'g',
        inputs: { max_tokens: 8, stop: '$$.' },
        prompt: 'Hi {{ $.request.name }} x{{$.request.n}}',
      }),
      { max_tokens: 8, stop: '$.', prompt: 'Hi Tybalt x3' },
    );
    assert.equal(body({ deployment: 'g', prompt: 'p' }, generative, true).stream, true);
  });

  it('chooses a case by the largest probability, by a string, or falls to the default', () => {
    const cases = ['ROMEO:\n', 'JULIET:\n', 'MENENIUS:\n'];
    assert.equal(
      body({ deployment: 'g', prompt: { by: '$.steps.classify.outputs.probabilities[0]', cases } }).prompt,
      'JULIET:\n',
    );
    assert.equal(
      body({
        deployment: 'g',
        prompt: { by: '$.steps.label.output', cases: { JULIET: 'O {{ $.request.name }}' } },
      }).prompt,
      'O Tybalt',
    );
    assert.equal(
      body({ deployment: 'g', prompt: { by: '$.request.n', cases, default: 'who?' } }).prompt,
      'who?',
    );
    fails(
      () => body({ deployment: 'g', prompt: { by: '$.request.n', cases } }),
      'pipeline_value_missing',
      /chose 3, which no case names/,
    );
    fails(
      () => body({ deployment: 'g', prompt: { by: '$.request.features', cases } }),
      'pipeline_value_missing',
      /must be a string, an integer or an array of numbers/,
    );
  });

  it('blames a missing request field on the caller, a missing answer on the pipeline', () => {
    fails(
      () => body({ deployment: 'g', inputs: { prompt: '$.request.text' } }),
      'invalid_request',
      /which the request lacks/,
    );
    fails(
      () => body({ deployment: 't', inputs: { x: '$.steps.classify.outputs.logits' } }, tensor),
      'pipeline_value_missing',
      /'\$\.steps\.classify\.outputs\.logits', which step 'classify' did not answer/,
    );
  });
});
