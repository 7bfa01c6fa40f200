// LoRA adapters over one base model against one pool per adapter, simulated on hand-computed traces.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { POLICIES, type Policy } from '../../../warmpool/policies/index.ts';
import { overBaseTrace, perAdapterTrace } from '../../../warmpool/sim/adapters/arrangements.ts';
import { runArrangement, type AdapterSetup } from '../../../warmpool/sim/adapters/run-arrangement.ts';
import { readTrace, runPolicy, type EngineSettings, type Trace } from '../../../warmpool/sim/index.ts';
import { AZURE, csvTrace, tempDir } from './helpers.ts';

const dir = tempDir();
after(() => dir.remove());

const settings = (t: Trace, o: Partial<EngineSettings> = {}): EngineSettings => ({
  coldStartMs: 10_000,
  slots: 8,
  tickMs: 2000,
  maxInstances: 100,
  knobs: {},
  startMs: t.startMs,
  endMs: t.endMs,
  ...o,
});

/** A policy that wants `n` instances whatever it sees. */
const fixed = (n: number): Policy => ({
  name: 'fixed',
  knob: { name: 'none', values: [] },
  decide: () => ({ desired: n, reason: 'scripted' }),
});

let n = 0;
const read = (rows: [number, string, number][]) =>
  readTrace({ file: dir.file(`a${n++}.csv`, csvTrace(rows)), serviceMs: 1 });

/** Every function an adapter of its own, `adapterSlots` held per instance, loads of `loadMs`. */
const setup = (adapterSlots: number, loadMs: number): AdapterSetup => ({
  count: 1000,
  slots: adapterSlots,
  loadMs,
});

describe('adapters over one base model', () => {
  it('the base pool is scaled from the summed demand of its adapters', async () => {
    // Three adapters, two 30 s requests each in the first 6 ms, 4 slots an instance. Alone, each
    // adapter needs one instance (3 in all); over one base, the tick at 2 s sees 6 requests and wants
    // ceil(6 / 4) = 2 (the first arrival started one at once).
    const t = await read(['a', 'a', 'b', 'b', 'c', 'c'].map((m, i) => [i, m, 30_000]));
    const seen: [number, number, number][] = [];
    const demand: Policy = {
      name: 'demand',
      knob: { name: 'none', values: [] },
      decide: ({ history, pool, now }) => {
        seen.push([now, history.totalArrivals, pool.inFlight + pool.queued]);
        return { desired: Math.ceil((pool.inFlight + pool.queued) / 4), reason: 'demand' };
      },
    };
    const at2s = () => seen.filter(([now]) => now === 2000);
    const s = settings(t, { slots: 4 });
    const base = runArrangement(t, demand, s, 1, setup(4, 15), 'over-base').summary;
    assert.deepEqual(at2s(), [[2000, 6, 6]]);
    assert.deepEqual([base.deployments, base.instances_started, base.cold_starts], [1, 2, 6]);
    // The first instance (ready at 10 s) takes a, a, b, b: two loads, each shared by two requests;
    // the second (ready at 12 s) c, c: one.
    assert.deepEqual([base.adapter_loads, base.adapter_load_requests], [3, 6]);
    assert.deepEqual([base.wait_ms_p50, base.wait_ms_p99], [10_014, 12_011]);
    seen.length = 0;
    const pools = runArrangement(t, demand, s, 1, setup(4, 15), 'per-adapter').summary;
    assert.deepEqual([pools.deployments, pools.instances_started, pools.adapter_loads], [3, 3, 0]);
    assert.deepEqual(at2s(), [
      [2000, 2, 2],
      [2000, 2, 2],
      [2000, 2, 2],
    ]);
  });

  it('a request for a resident adapter starts at once; one for another waits exactly the load', async () => {
    // One instance (ready at 10 s). a at 0: base cold start, then a's load: 10,250 ms. a again at
    // 20 s: resident, 0. b at 30 s: not resident, exactly 250 ms.
    const t = await read([
      [0, 'a', 1000],
      [20_000, 'a', 1000],
      [30_000, 'b', 1000],
    ]);
    const s = runArrangement(t, fixed(1), settings(t), 1, setup(8, 250), 'over-base').summary;
    assert.deepEqual([s.cold_starts, s.adapter_loads, s.adapter_load_requests], [1, 2, 2]);
    assert.deepEqual([s.wait_ms_p50, s.wait_ms_p99, s.wait_ms_mean], [250, 10_250, 3500]);
    assert.deepEqual([s.adapter_load_wait_s, s.adapter_load_wait_ms_mean], [0.5, 166.667]);
  });

  it('a full instance evicts the least recently used adapter, never one a request is using', async () => {
    // One instance of 2 slots. a (100 s) is in use throughout; b loads; c evicts b (not a: in use); b
    // evicts c; c evicts b; a again is still resident: 5 loads. (Evicting a would give a, b, c, a: 4.)
    // With 3 adapter slots nothing is evicted: 3 loads.
    const t = await read([
      [0, 'a', 100_000],
      [20_000, 'b', 1000],
      [30_000, 'c', 1000],
      [40_000, 'b', 1000],
      [45_000, 'c', 1000],
      [50_000, 'a', 1000],
    ]);
    const run = (adapterSlots: number) =>
      runArrangement(t, fixed(1), settings(t, { slots: 2 }), 1, setup(adapterSlots, 100), 'over-base')
        .summary;
    const two = run(2);
    assert.deepEqual([two.adapter_loads, two.adapter_load_requests, two.wait_ms_p50], [5, 5, 100]);
    const three = run(3);
    assert.deepEqual([three.adapter_loads, three.adapter_load_requests], [3, 3]);
  });

  it('routes to an instance holding the adapter, else to the least loaded', async () => {
    // Two instances of 3 slots, ready at 10 s. a at 20 s goes to the first (both idle) and loads; a
    // at 21 s goes to it again though the other is idle; b at 22 s to the idle one; b at 23 s follows.
    const t = await read([
      [20_000, 'a', 50_000],
      [21_000, 'a', 50_000],
      [22_000, 'b', 50_000],
      [23_000, 'b', 50_000],
    ]);
    const s = runArrangement(t, fixed(2), settings(t, { slots: 3 }), 1, setup(3, 100), 'over-base').summary;
    assert.deepEqual([s.instances_started, s.adapter_loads, s.adapter_load_requests], [2, 2, 2]);
  });
});

describe('one pool per adapter', () => {
  it('gives the simulator’s own figures when every function is an adapter of its own', async () => {
    const trace = await readTrace({ file: AZURE, serviceMs: 1000 });
    for (const name of ['reactive', 'keepalive', 'histogram', 'predictive', 'costaware'] as const) {
      const s = settings(trace);
      const plain = runPolicy(trace, POLICIES[name], s, 1);
      const pools = runArrangement(trace, POLICIES[name], s, 1, setup(8, 15), 'per-adapter');
      const {
        adapter_loads: _l,
        adapter_load_requests: _r,
        adapter_load_wait_s: _w,
        adapter_load_wait_ms_mean: _m,
        ...same
      } = pools.summary;
      assert.deepEqual(same, plain.summary, name);
      assert.deepEqual(pools.series, plain.series, name);
    }
  });

  it('maps function i to adapter i mod N: pools merge the functions of an adapter, the base takes them all', async () => {
    const trace = await readTrace({ file: AZURE, serviceMs: 1000 });
    const f = trace.deployments;
    const pools = perAdapterTrace(trace, 4);
    assert.deepEqual(
      pools.deployments.map((d) => [d.name, d.requests]),
      [
        ['adapter-0', f[0]!.requests + f[4]!.requests],
        ['adapter-1', f[1]!.requests + f[5]!.requests],
        [f[2]!.name, f[2]!.requests],
        [f[3]!.name, f[3]!.requests],
      ],
    );
    const [base] = overBaseTrace(trace, 4).deployments;
    const weighted = f.reduce((s, d) => s + d.meanServiceMs * d.requests, 0) / trace.requests;
    assert.equal(base!.requests, trace.requests);
    assert.ok(Math.abs(base!.meanServiceMs - weighted) < 1e-9);
    const r = base!.requestsFor(1);
    assert.equal(r.at.length, trace.requests);
    for (let i = 1; i < r.at.length; i++) assert.ok(r.at[i - 1]! <= r.at[i]!);
    const perAdapter = [0, 0, 0, 0];
    for (const a of r.adapter!) perAdapter[a]!++;
    assert.deepEqual(
      perAdapter,
      pools.deployments.map((d) => d.requests),
    );
  });
});
