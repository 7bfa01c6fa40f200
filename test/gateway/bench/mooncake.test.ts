import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blockText, loadMooncake, unboundedPrefixHitRate } from '../../../gateway/bench/mooncake.ts';

const dir = mkdtempSync(join(tmpdir(), 'wg-mooncake-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A trace file of the given rows. */
function trace(name: string, rows: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}
const row = (timestamp: number, hash_ids: number[], output_length = 128) => ({
  timestamp,
  input_length: hash_ids.length * 512,
  output_length,
  hash_ids,
});

describe('Mooncake trace mapping', () => {
  it('maps the real trace the same way every time, equal hash ids to equal text', async () => {
    const a = await loadMooncake({ limit: 200 });
    const b = await loadMooncake({ limit: 200 });
    assert.equal(a.length, 200);
    assert.deepEqual(a, b);
    for (const r of a) {
      assert.equal(r.prompt.length, r.hashIds.length * 16);
      r.hashIds.forEach((id, k) => assert.equal(r.prompt.slice(16 * k, 16 * k + 16), blockText(id, 16)));
    }
    // Every request of this trace starts with block 0 (a shared system prompt): one common first block.
    assert.ok(a.every((r) => r.hashIds[0] === 0 && r.prompt.startsWith(a[0]!.prompt.slice(0, 16))));
  });

  it('gives different ids different printable blocks', () => {
    const texts = new Set<string>();
    for (let id = 0; id < 5000; id++) {
      const t = blockText(id, 16);
      assert.match(t, /^[\x20-\x7e]{16}$/);
      texts.add(t);
    }
    assert.equal(texts.size, 5000);
    assert.equal(blockText(7, 8), blockText(7, 8));
    assert.equal(blockText(7, 32).length, 32);
  });

  it('scales lengths: whole blocks, capped so prompt + output fits, output /64 within 1..16', async () => {
    const path = trace('lengths.jsonl', [
      row(0, [1, 2, 3], 640),
      row(
        0,
        Array.from({ length: 100 }, (_, i) => 10 + i),
        3,
      ),
      row(0, [1, 2, 4], 5000),
    ]);
    const [a, b, c] = await loadMooncake({ limit: 3, path, jitter: false });
    assert.deepEqual(
      [a!.prompt.length, a!.maxTokens, b!.prompt.length, b!.maxTokens, c!.prompt.length, c!.maxTokens],
      [48, 10, 55 * 16, 1, 48, 16], // 55 = floor((900 - 16) / 16) blocks at most
    );
    assert.equal(b!.hashIds.length, 55);
    assert.equal(a!.prompt.slice(0, 32), c!.prompt.slice(0, 32), 'shared blocks [1, 2], shared prefix');
    assert.notEqual(a!.prompt.slice(32), c!.prompt.slice(32));
    const small = await loadMooncake({ limit: 3, path, jitter: false, blockBytes: 8, maxTotalTokens: 500 });
    assert.deepEqual(
      small.map((r) => r.prompt.length),
      [24, 60 * 8, 24], // floor((500 - 16) / 8) = 60 blocks
    );
  });

  it('scales time, and spreads each step over the gap to the next one when jittering', async () => {
    const path = trace('time.jsonl', [
      row(1000, [1]),
      row(1000, [2]),
      row(4000, [3]),
      row(4000, [4]),
      row(10_000, [5]),
      row(13_000, [6]),
    ]);
    const exact = await loadMooncake({ limit: 5, path, jitter: false, timeScale: 0.5 });
    assert.deepEqual(
      exact.map((r) => r.atMs),
      [0, 0, 1500, 1500, 4500],
    );
    const jittered = await loadMooncake({ limit: 5, path, timeScale: 0.5 });
    assert.deepEqual(jittered, await loadMooncake({ limit: 5, path, timeScale: 0.5 }), 'the jitter is fixed');
    const at = new Map(jittered.map((r) => [r.hashIds[0], r.atMs]));
    for (const id of [1, 2])
      assert.ok(at.get(id)! >= 0 && at.get(id)! < 1500, `request ${id} at ${at.get(id)}`);
    for (const id of [3, 4])
      assert.ok(at.get(id)! >= 1500 && at.get(id)! < 4500, `request ${id} at ${at.get(id)}`);
    // The last request's step ends at the next row of the file, beyond the limit.
    assert.ok(at.get(5)! >= 4500 && at.get(5)! < 6000);
    assert.deepEqual(
      jittered.map((r) => r.atMs),
      jittered.map((r) => r.atMs).sort((x, y) => x - y),
      'in arrival order',
    );
  });

  it('computes the hit rate of one unbounded cache from the leading blocks seen before', async () => {
    const path = trace('hits.jsonl', [row(0, [1, 2]), row(0, [1, 2, 3, 4]), row(0, [5, 2]), row(0, [1, 6])]);
    const reqs = await loadMooncake({ limit: 4, path, jitter: false });
    // Hits: 0, then [1, 2], then nothing (5 is new, so 2 after it is not a prefix hit), then [1].
    assert.equal(unboundedPrefixHitRate(reqs), 3 / 10);
    assert.equal(unboundedPrefixHitRate([]), 0);
  });
});
