import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvironmentError, readEnvironment } from '../../../gateway/config/environment.ts';
import { GATEWAY_ENVIRONMENT } from '../../../gateway/config/gateway-environment.ts';
import { CONTROLLER_ENVIRONMENT } from '../../../warmpool/config/controller-environment.ts';

describe('readEnvironment', () => {
  it('converts numbers and booleans, fills defaults, treats empty as unset', () => {
    const { values, unknown } = readEnvironment(CONTROLLER_ENVIRONMENT, {
      REDIS_URL: 'redis://r:6379',
      PORT: '9100',
      WARMGATE_SCALE_TO_ZERO: 'false',
      WARMGATE_NAMESPACE: '',
      WARMGATE_RUNTIME_TOLERATIONS: '[{"key":"nvidia.com/gpu","operator":"Exists"}]',
      WARMGATE_TYPO_MS: '5',
      PATH: '/usr/bin',
    });
    assert.equal(values.PORT, 9100);
    assert.equal(values.WARMGATE_SCALE_TO_ZERO, false);
    assert.equal(values.WARMGATE_TICK_MS, 500);
    assert.equal(values.WARMGATE_PROVIDER, 'local');
    assert.equal(values.WARMGATE_NAMESPACE, undefined);
    assert.deepEqual(unknown, ['WARMGATE_TYPO_MS'], 'only unknown variables of the warmgate prefix');
  });

  it('names every wrong variable at once', () => {
    let m = '';
    assert.throws(() => {
      try {
        readEnvironment(CONTROLLER_ENVIRONMENT, {
          PORT: '0',
          WARMGATE_POLICY: 'psychic',
          WARMGATE_RUNTIME_NODE_SELECTOR: '["gpu"]',
          WARMGATE_RUNTIME_TOLERATIONS: '{not json',
        });
      } catch (err) {
        m = (err as Error).message;
        throw err;
      }
    }, EnvironmentError);
    {
      assert.match(m, /^controller: /);
      assert.match(m, /REDIS_URL is required/);
      assert.match(m, /PORT must be >= 1/);
      assert.match(m, /WARMGATE_POLICY must be equal to one of the allowed values: one of predictive/);
      assert.match(m, /WARMGATE_RUNTIME_NODE_SELECTOR must be a JSON object/);
      assert.match(m, /WARMGATE_RUNTIME_TOLERATIONS must be a JSON array, and it does not parse/);
    }
  });

  it("the gateway's defaults are the ones the gateway uses", () => {
    const { values } = readEnvironment(GATEWAY_ENVIRONMENT, {});
    assert.equal(values.PORT, 8080);
    assert.equal(values.WARMGATE_ROUTING, 'prefix');
    assert.equal(values.WARMGATE_BODY_LIMIT_BYTES, 4 * 2 ** 20);
  });
});
