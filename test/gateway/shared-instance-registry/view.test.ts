import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceEntry } from '../../../gateway/shared-instance-registry/index.ts';
import { RegistryView } from '../../../gateway/shared-instance-registry/view.ts';

const NOW = 1_000_000;

function entry(id: string, over: Partial<InstanceEntry> = {}): InstanceEntry {
  return { id, deployment: 'tiny', url: `http://127.0.0.1:1/${id}`, state: 'ready', updatedAt: NOW, ...over };
}

describe('RegistryView: a full read against messages', () => {
  it('adds, changes and removes what the read differs in', () => {
    const v = new RegistryView(10_000);
    v.upsert(entry('gone'), NOW);
    v.upsert(entry('same'), NOW);
    const mark = v.mark();
    const changed = entry('same', { state: 'draining', updatedAt: NOW + 1 });
    const events = v.replace([changed, entry('new')], mark, NOW);
    assert.deepEqual(events, [
      { type: 'remove', entry: entry('gone'), reason: 'removed' },
      { type: 'upsert', entry: changed },
      { type: 'upsert', entry: entry('new') },
    ]);
  });

  it('keeps an entry whose message overtook the read, and does not revive one removed meanwhile', () => {
    const v = new RegistryView(10_000);
    v.upsert(entry('removed'), NOW);
    const mark = v.mark();
    v.upsert(entry('arrived'), NOW); // message in while the read was under way
    v.remove('removed', true);
    assert.deepEqual(v.replace([entry('removed')], mark, NOW), []);
    assert.deepEqual(
      v.list().map((e) => e.id),
      ['arrived'],
    );
    // A late copy of the removed entry does not bring it back; a newer publish does.
    assert.deepEqual(v.upsert(entry('removed'), NOW), []);
    const again = entry('removed', { updatedAt: NOW + 5 });
    assert.deepEqual(v.upsert(again, NOW), [{ type: 'upsert', entry: again }]);
  });

  it('drops what the read shows stale, as expired', () => {
    const v = new RegistryView(10_000);
    v.upsert(entry('old'), NOW);
    assert.deepEqual(v.replace([entry('old')], v.mark(), NOW + 10_001), [
      { type: 'remove', entry: entry('old'), reason: 'expired' },
    ]);
  });
});
