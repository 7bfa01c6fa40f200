// A retired version drains without dropping a request, end to end: the platform in one process (gateway +
// warm-pool controller + local provider) with real instance processes of the demo model, whose long
// streams keep requests in flight for seconds. Under continuous load from several clients, streaming
// and not, an operator promotes version 2 and then drops version 1 from `versions` through the admin API.
// Every request must get 200 and a whole answer (streams end with [DONE]), streams version 1 was serving
// must run through its drain, and version 1's instance must stop on its own (exit 0: drained in time,
// not killed at the drain deadline).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkDeployment, type DeploymentSpec } from '../../gateway/deployments/index.ts';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { LocalProvider } from '../../warmpool/providers/index.ts';
import { ADMIN_HEADERS, ADMIN_TOKEN, deployment, MODELS } from '../support/platform.ts';
import { waitFor } from '../support/wait-for.ts';

const SCALING = { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 };
/** Tokens of a long stream: seconds of the demo model's decoding, shared with the other clients. */
const LONG = 400;

interface Answer {
  stream: boolean;
  version: string | null;
  status: number;
  sentAt: number;
  endedAt: number;
  /** Why it is not a whole answer; null when it is. */
  problem: string | null;
}

describe('a retired version drains without dropping a request (real instances)', { timeout: 240_000 }, () => {
  let wg: RunningWarmgate;
  const provider = new LocalProvider();
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${wg.url}/admin/v1/deployments/demo${path}`, {
      method,
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const ready = (pool: string) => wg.gateway.gateway.registry.routable(pool).length > 0;
  /** Streams whose headers came, not yet ended, by version. */
  const streaming = new Map<string, number>();

  /** One completion; a stream counts in `streaming` from its first chunk to its end. */
  const complete = async (session: string, stream: boolean): Promise<Answer> => {
    const sentAt = Date.now();
    const res = await fetch(`${wg.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-warmgate-session': session },
      body: JSON.stringify({
        model: 'demo',
        prompt: 'ROMEO:\n',
        max_tokens: stream ? LONG : 8,
        temperature: 0,
        stream,
      }),
    });
    const version = res.headers.get('x-warmgate-version');
    let text = '';
    if (stream && res.status === 200 && version !== null) {
      const counted = version;
      const decoder = new TextDecoder();
      let first = true;
      try {
        for await (const chunk of res.body!) {
          if (first) streaming.set(counted, (streaming.get(counted) ?? 0) + 1);
          first = false;
          text += decoder.decode(chunk as Uint8Array, { stream: true });
        }
      } catch (e) {
        text += `\n(read failed: ${(e as Error).message})`;
      } finally {
        if (!first) streaming.set(counted, streaming.get(counted)! - 1);
      }
    } else text = await res.text();
    return {
      stream,
      version,
      status: res.status,
      sentAt,
      endedAt: Date.now(),
      problem: problem(res.status, stream, text),
    };
  };

  before(async () => {
    wg = await startWarmgate({
      port: 0,
      tickMs: 200,
      adminToken: ADMIN_TOKEN,
      provider,
      // The controller's own deadline is not what ends the drain: the instance does, when its last
      // request is done.
      drainTimeoutMs: 120_000,
      deployments: [
        checkDeployment(
          deployment('demo', 'generative', 'demo', {
            scaling: SCALING,
            versions: [{ version: 2, model: { path: `${MODELS}demo` } }],
          }),
        ),
      ],
    });
    await waitFor('version 1 ready', () => ready('demo'));
    await admin('POST', '/rollout', { to: 2, weight: 50 });
    await waitFor('version 2 ready', () => ready('demo@2'));
  });
  after(async () => wg?.close());

  it('promote, then drop version 1: every request whole, version 1 drained and stopped', async () => {
    const v1 = wg.controller.status().find((p) => p.deployment === 'demo')!.instances[0]!.id;
    const answers: Answer[] = [];
    let stop = false;
    // Three streaming clients and two asking for short whole answers; each request a new session, so
    // both versions get requests while the split holds.
    const clients = [true, true, true, false, false].map(async (stream, k) => {
      for (let i = 0; !stop; i++) answers.push(await complete(`c${k}-${i}`, stream));
    });
    await waitFor('two streams on version 1', () => (streaming.get('1') ?? 0) >= 2);

    const promoted = await admin('POST', '/promote');
    assert.equal(promoted.stable, 2);
    const spec = (await admin('GET', '')) as unknown as DeploymentSpec;
    assert.deepEqual(
      spec.versions?.map((v) => v.version),
      [1],
      'version 1 kept for a rollback',
    );
    const retiredAt = Date.now();
    await admin('PUT', '', { ...spec, versions: [] });
    const inFlightAtRetire = streaming.get('1') ?? 0;

    await waitFor(
      "version 1's pool drained and dropped",
      () => !wg.controller.status().some((p) => p.deployment === 'demo'),
      90_000,
    );
    // Load goes on after the drain too: version 2 alone serves it.
    const served = answers.length;
    await waitFor('more answers after the drain', () => answers.length >= served + 5);
    stop = true;
    await Promise.all(clients);

    const bad = answers.filter((a) => a.status !== 200 || a.problem !== null);
    assert.deepEqual(bad, [], 'every request got 200 and a whole answer');
    const drainedThrough = answers.filter(
      (a) => a.stream && a.version === '1' && a.sentAt < retiredAt && a.endedAt > retiredAt,
    );
    assert.ok(
      drainedThrough.length >= 1 && inFlightAtRetire >= 1,
      `streams on version 1 ran through its retirement (${drainedThrough.length}, ${inFlightAtRetire} in flight)`,
    );
    assert.ok(
      answers.every((a) => a.sentAt < retiredAt || a.version === '2'),
      'no request after the retirement reached version 1',
    );
    const exit = provider.exitOf(v1);
    assert.deepEqual([exit?.code, exit?.signal], [0, null], `drained, exit 0: ${exit?.stderrTail}`);
    const reasons = wg.controller.decisions('demo').map((d) => d.reason);
    assert.ok(reasons.includes('deployment removed: draining'), reasons.join('\n'));
    assert.ok(reasons.includes('deployment removed: pool empty'), reasons.join('\n'));
    const view = await admin('GET', '/rollout');
    assert.deepEqual(
      (view.versions as { version: number }[]).map((v) => v.version),
      [2],
    );
  });
});

/** Why an answer is not whole: a stream without its finish reason or [DONE], an error inside it. */
function problem(status: number, stream: boolean, text: string): string | null {
  if (status !== 200) return text;
  if (!stream) {
    const body = JSON.parse(text) as { choices?: { finish_reason: string | null }[] };
    return body.choices?.[0]?.finish_reason ? null : `no finish reason: ${text}`;
  }
  const events = text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6));
  if (events.at(-1) !== '[DONE]') return `no [DONE] at the end: ...${text.slice(-300)}`;
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
  if (chunks.some((c) => 'error' in c)) return `an error in the stream: ${text.slice(-300)}`;
  const finish = (chunks.at(-1)?.choices as { finish_reason: string | null }[] | undefined)?.[0]
    ?.finish_reason;
  return finish ? null : `no finish reason in the last chunk: ...${text.slice(-300)}`;
}
