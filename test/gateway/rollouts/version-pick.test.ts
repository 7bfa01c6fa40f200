import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newApiKey } from '../../../gateway/auth/index.ts';
import { versionPick } from '../../../gateway/dispatch/generation-target.ts';
import { InstanceTable } from '../../../gateway/instances/index.ts';

describe("a request's sticky client", () => {
  const registry = new InstanceTable();
  const pick = (headers: Record<string, string>) =>
    versionPick(registry, (name) => headers[name]).client('x-warmgate-session');

  it('is its session header, else its API key id (the same whatever secret), else nobody', () => {
    assert.equal(pick({ 'x-warmgate-session': 'abc', authorization: 'Bearer x' }), 's:abc');
    const { id, key } = newApiKey();
    assert.equal(pick({ authorization: `Bearer ${key}` }), `k:${id}`);
    const rotated = `wg_${id}_${'z'.repeat(43)}`;
    assert.equal(pick({ authorization: `Bearer ${rotated}` }), `k:${id}`);
    assert.equal(pick({}), null);
  });
});
