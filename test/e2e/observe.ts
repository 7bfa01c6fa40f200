// What end-to-end tests read from the outside: Prometheus text, instance load reports, and waits for a
// condition that must come true (bounded only so that a broken build fails instead of hanging).
import assert from 'node:assert/strict';

/** The value of one sample in Prometheus text: the line named `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (wanted.every((l) => (m[2] ?? '').includes(l))) return Number(m[3]);
  }
  return undefined;
}

/**
 * The value of one sample. A missing sample throws: a renamed metric or label must fail the test, not
 * read as 0 and pass a "returns to 0" check.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const v = sample(text, name, labels);
  if (v === undefined) assert.fail(`no sample ${name}${JSON.stringify(labels)} in the metrics text`);
  return v;
}

/**
 * How much a counter grew from `before` to `after`. Only the `before` reading may be absent (a counter is
 * exported from its first increment on); the `after` reading must exist unless `neverIncremented` says a
 * counter that stayed at 0 may still be absent (a sibling label then proves the metric's name).
 */
export function counterDelta(
  before: string,
  after: string,
  name: string,
  labels: Record<string, string> = {},
  { neverIncremented = false } = {},
): number {
  const end = neverIncremented ? (sample(after, name, labels) ?? 0) : metricValue(after, name, labels);
  return end - (sample(before, name, labels) ?? 0);
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
 * condition must come true, and if it never does the test fails saying what was last seen. A probe or
 * check that throws (a metric not exported yet) counts as not yet, and its error is what is reported.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  boundMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    let seen: string;
    try {
      const value = await probe();
      if (done(value)) return value;
      seen = JSON.stringify(value);
    } catch (e) {
      seen = `error: ${(e as Error).message}`;
    }
    if (Date.now() > deadline) assert.fail(`${what}: still not so after ${boundMs} ms; last seen ${seen}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
