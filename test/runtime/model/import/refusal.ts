// The importer's tests' check that work is refused with a given code and a message naming what it must.
import assert from 'node:assert/strict';
import { ImportError, type ImportErrorCode } from '../../../../runtime/model/import/index.ts';

/** Awaits `work`; it must reject with an ImportError of `code` whose message holds every mention. */
export async function refusal(
  work: Promise<unknown>,
  code: ImportErrorCode,
  ...mentions: string[]
): Promise<ImportError> {
  try {
    await work;
  } catch (e) {
    assert.ok(e instanceof ImportError, `expected an ImportError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${m}" in: ${e.message}`);
    return e;
  }
  assert.fail('accepted, but should have been refused');
}
