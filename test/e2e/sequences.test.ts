// Stateful tensor sequences through the gateway, on real instance processes of the recurrent demo model:
// sequences sent request by request (KServe v2 parameters and the function route), interleaved and
// batched at the instance, must equal each whole sequence run in one call of ONNX's RNN operator
// (sequence.onnx); a sequence idle too long, or never started, is refused; one whose instance is lost
// is answered sequence_lost, never restarted silently from a zero state on another instance.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type ort from 'onnxruntime-node';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import {
  maxDiff,
  openRecurrentReference,
  RECURRENT_INPUT,
  sequenceInputs,
  unrolled,
} from '../support/recurrent-reference.ts';
import { counterDelta } from './observe.ts';

const MODEL = 'rnn';
const SEQS = 4;
const STEPS = 5;
const IDLE_MS = 1000;
const STATEFUL = ['--sequence-state', 'state_in:state_out', '--sequence-idle-ms', String(IDLE_MS)];
// A call is cut when one step of every sequence is queued; a lone request waits this long.
const BATCHING = ['--max-batch-size', String(SEQS), '--max-queue-delay-ms', '200'];

interface Answer {
  status: number;
  body: { outputs?: { name: string; shape: number[]; data: number[] }[]; error?: string; code?: string };
}

async function v2(
  p: Platform,
  row: readonly number[] | null,
  parameters: Record<string, unknown>,
  extra = {},
) {
  const res = await fetch(`${p.url}/v2/models/${MODEL}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'x', shape: [1, RECURRENT_INPUT], datatype: 'FP32', data: row ?? [0, 0, 0, 0] }],
      parameters,
      ...extra,
    }),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const y = (a: Answer): number[] => {
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(
    a.body.outputs!.map((o) => [o.name, o.shape]),
    [['y', [1, 2]]],
    'the state stays on the instance',
  );
  return a.body.outputs![0]!.data;
};

describe('stateful sequences through the gateway', { timeout: 60_000 }, () => {
  let p: Platform;
  let reference: ort.InferenceSession;
  before(async () => {
    [p, reference] = await Promise.all([
      startPlatform({
        deployments: [{ spec: deployment(MODEL, 'tensor', 'recurrent'), args: [...STATEFUL, ...BATCHING] }],
      }),
      openRecurrentReference(),
    ]);
  });
  after(async () => {
    await p?.close();
    await reference?.release();
  });

  it('serves interleaved sequences step by step as one whole-sequence call, batched across sequences', async () => {
    const instanceUrl = p.instances[0]!.launched.url;
    const metricsBefore = await (await fetch(`${instanceUrl}/metrics`)).text();
    const inputs = Array.from({ length: SEQS }, (_, s) => sequenceInputs(500 + s, STEPS));
    const got: number[][][] = inputs.map(() => []);
    for (let t = 0; t < STEPS; t++) {
      const answers = await Promise.all(
        inputs.map((xs, s) =>
          v2(p, xs[t]!, { sequence_id: `conv-${s}`, sequence_start: t === 0, sequence_end: t === STEPS - 1 }),
        ),
      );
      answers.forEach((a, s) => got[s]!.push(y(a)));
    }
    for (const [s, xs] of inputs.entries()) {
      const diff = maxDiff(got[s]!, await unrolled(reference, xs));
      assert.ok(diff < 1e-5, `sequence ${s}: ${diff}`);
    }
    const metricsAfter = await (await fetch(`${instanceUrl}/metrics`)).text();
    const labels = { model: 'recurrent-cell' };
    const calls = counterDelta(metricsBefore, metricsAfter, 'warmgate_runtime_batch_size_count', labels);
    const rows = counterDelta(metricsBefore, metricsAfter, 'warmgate_runtime_batch_size_sum', labels);
    assert.equal(rows, SEQS * STEPS, 'one row per request');
    assert.equal(calls, STEPS, 'each ONNX Runtime call held one step of every sequence');
  });

  it('takes a sequence through the function route, with a numeric id', async () => {
    const xs = sequenceInputs(77, 3);
    const got: number[][] = [];
    for (const [t, row] of xs.entries()) {
      const res = await fetch(`${p.url}/v1/functions/${MODEL}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: { x: [row] },
          sequence_id: 42,
          sequence_start: t === 0,
          sequence_end: t === xs.length - 1,
        }),
      });
      const body = (await res.json()) as { outputs: { y: number[][] } };
      assert.equal(res.status, 200, JSON.stringify(body));
      got.push(body.outputs.y[0]!);
    }
    assert.ok(maxDiff(got, await unrolled(reference, xs)) < 1e-5);
  });

  it('refuses bad sequence requests with stable codes', async () => {
    const cases: [string, Promise<Answer>, number, string][] = [
      ['no sequence_id', v2(p, null, {}), 400, 'invalid_request'],
      [
        'a step of a sequence never started',
        v2(p, null, { sequence_id: 'nobody' }),
        400,
        'sequence_not_started',
      ],
      [
        'a flag that is not a boolean',
        v2(p, null, { sequence_id: 'a', sequence_start: 'yes' }),
        400,
        'invalid_request',
      ],
      ['id zero', v2(p, null, { sequence_id: 0, sequence_start: true }), 400, 'invalid_request'],
      ['start without an id', v2(p, null, { sequence_start: true }), 400, 'invalid_request'],
      [
        'parameters not an object',
        v2(p, null, [] as unknown as Record<string, unknown>),
        400,
        'invalid_request',
      ],
      [
        'the state sent as an input',
        v2(
          p,
          null,
          { sequence_id: 'a', sequence_start: true },
          {
            inputs: [{ name: 'state_in', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0) }],
          },
        ),
        400,
        'invalid_tensor',
      ],
      [
        'two rows in one step',
        v2(
          p,
          null,
          { sequence_id: 'a', sequence_start: true },
          {
            inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: new Array(8).fill(0) }],
          },
        ),
        400,
        'invalid_tensor',
      ],
    ];
    for (const [what, answer, status, code] of cases) {
      const a = await answer;
      assert.deepEqual([a.status, a.body.code], [status, code], `${what}: ${JSON.stringify(a.body)}`);
    }
    const meta = (await (await fetch(`${p.url}/v2/models/${MODEL}`)).json()) as {
      inputs: { name: string }[];
    };
    assert.deepEqual(
      meta.inputs.map((i) => i.name),
      ['x'],
      'the metadata shows only what requests send',
    );
  });

  it('closes a sequence idle longer than its timeout, and one that ended', async () => {
    const xs = sequenceInputs(9, 2);
    y(await v2(p, xs[0]!, { sequence_id: 'idle', sequence_start: true }));
    await new Promise((r) => setTimeout(r, IDLE_MS + 200));
    const late = await v2(p, xs[1]!, { sequence_id: 'idle' });
    assert.deepEqual([late.status, late.body.code], [400, 'sequence_not_started']);

    y(await v2(p, xs[0]!, { sequence_id: 'ended', sequence_start: true, sequence_end: true }));
    const after = await v2(p, xs[1]!, { sequence_id: 'ended' });
    assert.deepEqual([after.status, after.body.code], [400, 'sequence_not_started']);
    const load = (await (await fetch(`${p.instances[0]!.launched.url}/load`)).json()) as {
      sequences: number;
    };
    assert.equal(load.sequences, 0, 'no sequence left open on the instance');
  });
});

describe('a sequence whose instance is lost', { timeout: 60_000 }, () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({
      deployments: [
        { spec: deployment(MODEL, 'tensor', 'recurrent'), instances: 2, args: [...STATEFUL, ...BATCHING] },
      ],
      // No poll between the death and the request: only the call itself finds the instance gone.
      pollIntervalMs: 600_000,
    });
  });
  after(async () => {
    await p?.close();
  });

  it('is answered sequence_lost, and a sequence started again goes to a live instance', async () => {
    const xs = sequenceInputs(3, 3);
    y(await v2(p, xs[0]!, { sequence_id: 'doomed', sequence_start: true }));
    const ctx = p.gateway.gateway.context;
    const place = await ctx.sequences.where(MODEL, 'doomed');
    assert.equal(place.kind, 'pinned');
    const holder = ctx.registry
      .instances(MODEL)
      .find((i) => i.id === (place as { instanceId: string }).instanceId)!;
    const launched = p.instances.find((i) => i.launched.url === holder.url)!.launched;
    const exited = once(launched.process, 'exit');
    launched.process.kill('SIGKILL');
    await exited;

    const lost = await v2(p, xs[1]!, { sequence_id: 'doomed' });
    assert.deepEqual([lost.status, lost.body.code], [409, 'sequence_lost'], JSON.stringify(lost.body));
    await ctx.registry.remove(holder); // as the controller does once it sees the death
    const gone = await v2(p, xs[2]!, { sequence_id: 'doomed' });
    assert.deepEqual([gone.status, gone.body.code], [409, 'sequence_lost'], 'still lost, not reset');

    y(await v2(p, xs[0]!, { sequence_id: 'doomed', sequence_start: true }));
    y(await v2(p, xs[1]!, { sequence_id: 'doomed', sequence_end: true }));
  });
});
