// Shared helpers of the fault tests: waiting on conditions (never fixed sleeps as pass/fail) and
// process checks.
import assert from 'node:assert/strict';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns a value (not undefined) or `ms` passes; errors count as not yet. */
export async function until<T>(
  f: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 30_000,
  describe?: () => string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(f)
      .catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end)
      assert.fail(`timed out after ${ms} ms waiting for ${what}${describe ? `: ${describe()}` : ''}`);
    await sleep(50);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal to a process that may be gone already. */
export function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

export const postJson = (url: string, body: unknown, init: RequestInit = {}): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  });
