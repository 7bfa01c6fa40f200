// What end-to-end tests read from the outside: Prometheus text, instance load reports, and waits for a
// condition that must come true (bounded only so that a broken build fails instead of hanging).
import assert from 'node:assert/strict';

/**
 * The value of one sample in Prometheus text: the line named `name` whose labels include `labels`.
 * Absent (a counter never incremented) reads as 0.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (wanted.every((l) => (m[2] ?? '').includes(l))) return Number(m[3]);
  }
  return 0;
}

export async function metricsText(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** An instance's GET /load (runtime/instance/load-report.ts). */
export interface InstanceLoad {
  readonly state: string;
  readonly outstanding: number;
  readonly running: number;
  readonly waiting: number;
  readonly kvFreeBlocks: number;
  readonly kvTotalBlocks: number;
}

export async function instanceLoad(instanceUrl: string): Promise<InstanceLoad> {
  const res = await fetch(`${instanceUrl}/load`);
  assert.equal(res.status, 200);
  return (await res.json()) as InstanceLoad;
}

/**
 * Polls `probe` until `done` holds for what it returns. The bound is not a performance threshold: the
 * condition must come true, and if it never does the test fails saying what was last seen.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  boundMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      assert.fail(`${what}: still not so after ${boundMs} ms; last seen ${JSON.stringify(value)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
