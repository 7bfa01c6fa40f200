import assert from 'node:assert/strict';

/**
 * Waits until `ok()` holds, checking every `everyMs`; fails naming `what` after `ms`. For conditions that
 * real processes reach in their own time (an instance ready, a rollout rolled back), never a fixed sleep.
 */
export async function waitFor(
  what: string,
  ok: () => boolean | Promise<boolean>,
  ms = 60_000,
  everyMs = 100,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    assert.ok(Date.now() < end, `${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
