import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../gateway/errors/index.ts';
import { checkDeployment } from '../../../gateway/deployments/index.ts';
import { parseInstanceArgs } from '../../../runtime/instance/config.ts';
import { instanceArgs } from '../../../warmpool/providers/instance-args.ts';

const rnn = {
  name: 'rnn',
  kind: 'tensor',
  model: { path: 'runtime/models/recurrent' },
  sequence: { state: [{ input: 'state_in', output: 'state_out' }], idleTimeoutMs: 5000 },
};

const refusal = (spec: unknown) => {
  try {
    checkDeployment(spec);
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return `${e.code} ${e.param}`;
  }
  return 'accepted';
};

describe("a deployment's sequence (a stateful tensor model)", () => {
  it('reaches the instance as its flags', () => {
    const args = instanceArgs(checkDeployment(rnn), '127.0.0.1', 9000);
    assert.deepEqual(parseInstanceArgs(args).sequence, {
      state: [{ input: 'state_in', output: 'state_out' }],
      idleTimeoutMs: 5000,
      maxSequences: 1024,
    });
  });

  it('is refused on a generative deployment, without state, or with a name the flags cannot carry', () => {
    assert.equal(
      refusal({ ...rnn, kind: 'generative', model: { path: 'runtime/models/tiny' } }),
      'deployment_invalid sequence',
    );
    assert.equal(refusal({ ...rnn, sequence: { state: [] } }), 'deployment_invalid sequence.state');
    assert.equal(
      refusal({ ...rnn, sequence: { state: [{ input: 'a:b', output: 'c' }] } }),
      'deployment_invalid sequence.state.0.input',
    );
    assert.equal(
      refusal({ ...rnn, sequence: { ...rnn.sequence, idleTimeoutMs: 0 } }),
      'deployment_invalid sequence.idleTimeoutMs',
    );
  });
});
