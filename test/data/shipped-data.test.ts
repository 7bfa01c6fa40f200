import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { DATA, linesOf, readBytes } from '../../runtime/bench/data-files.ts';

// data/README.md lists the sha256 of each file's uncompressed bytes: the copies are unmodified.
const readme = readFileSync(new URL('../../data/README.md', import.meta.url), 'utf8');

for (const path of Object.values(DATA)) {
  test(`${basename(path)} decompresses to the bytes data/README.md names`, async () => {
    const row = readme.split('\n').find((l) => l.includes(`${basename(path)}\``));
    const expected = row && /`([0-9a-f]{64})`/.exec(row)?.[1];
    assert.ok(expected, `data/README.md lists ${basename(path)} with its sha256`);
    const digest = createHash('sha256')
      .update(await readBytes(path))
      .digest('hex');
    assert.equal(digest, expected);
  });
}

test('reading the first lines of a gzipped trace stops early and closes the file', async () => {
  const lines: string[] = [];
  for await (const { line, n } of linesOf(DATA.mooncakeConversation)) {
    lines.push(line);
    if (n === 3) break;
  }
  assert.equal(lines.length, 3);
  for (const l of lines) assert.ok('hash_ids' in JSON.parse(l));
});
