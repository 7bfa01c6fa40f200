// An instance's output through the controller (Controller.logs) and the controller process's admin API
// (GET /admin/v1/instances/{id}/logs), over a fake provider in simulated time. The local provider's real
// output, through the gateway's admin API, is tested by `warmgate logs` in test/warmpool/cli.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Controller } from '../../../warmpool/controller/index.ts';
import { InstanceLog, type LogLine } from '../../../warmpool/providers/index.ts';
import { createControllerApp } from '../../../warmpool/service/controller-app.ts';
import { createTelemetry } from '../../../runtime/telemetry/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { FakeProvider } from '../../support/fake-provider.ts';
import { deployment } from '../../support/platform.ts';

const T0 = 1_000_000;
const TOKEN = 'controller-token';

/** A provider that keeps output: each instance it started, and one that ended (`i-0`), said something. */
class ProviderWithLogs extends FakeProvider {
  readonly output = new Map<string, InstanceLog>([['i-0', new InstanceLog({ now: () => T0 - 1 })]]);

  constructor(clock: FakeClock) {
    super(clock);
    this.output.get('i-0')!.push('stderr', 'instance failed to start: no model\n');
  }

  override async start(spec: Parameters<FakeProvider['start']>[0]) {
    const started = await super.start(spec);
    const log = new InstanceLog({ now: () => T0 });
    log.push('stdout', `instance listening on ${started.url}\nloading\ninstance ready\n`);
    this.output.set(started.id, log);
    return started;
  }

  logs(id: string, n?: number): LogLine[] | undefined {
    return this.output.get(id)?.lines(n);
  }
}

function controllerOver(provider: FakeProvider, clock: FakeClock): Controller {
  let n = 0;
  return new Controller({
    deployments: () => [deployment('tiny', 'generative', 'tiny')], // minInstances 1
    demand: () => ({ inUse: 0, queued: 0 }),
    provider,
    clock,
    pool: { newId: () => `i-${++n}` },
  });
}

describe('instance logs through the controller', () => {
  it('answers the lines the provider keeps, of a pool instance or one that ended; undefined for others', async () => {
    using clock = new FakeClock(T0);
    const c = controllerOver(new ProviderWithLogs(clock), clock);
    await c.tick(T0);
    assert.deepEqual(
      c.logs('i-1')?.lines.map((l) => l.text),
      ['instance listening on http://fake/i-1', 'loading', 'instance ready'],
    );
    assert.deepEqual(c.logs('i-1', 1), {
      instance: 'i-1',
      kept: true,
      lines: [{ seq: 3, at: T0, stream: 'stdout', text: 'instance ready' }],
    });
    assert.equal(c.logs('i-0')?.lines[0]?.stream, 'stderr');
    assert.equal(c.logs('i-9'), undefined);
  });

  it('says when the provider keeps no output (pods), for an instance it knows', async () => {
    using clock = new FakeClock(T0);
    const c = controllerOver(new FakeProvider(clock), clock);
    await c.tick(T0);
    assert.deepEqual(c.logs('i-1'), { instance: 'i-1', kept: false, lines: [] });
    assert.equal(c.logs('i-9'), undefined);
  });

  it("the controller process's admin API serves them: 200, 404 instance_not_found, 400 for a bad ?lines", async () => {
    using clock = new FakeClock(T0);
    const controller = controllerOver(new ProviderWithLogs(clock), clock);
    await controller.tick(T0);
    const app = createControllerApp({
      controller,
      status: () => ({ leading: true, holderId: 'test' }) as never,
      telemetry: createTelemetry({ serviceName: 'test' }),
      ready: () => true,
      adminToken: TOKEN,
    });
    const get = (path: string, token = TOKEN) =>
      app.request(`/admin/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    const ok = await get('/instances/i-1/logs?lines=2');
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), controller.logs('i-1', 2));
    const missing = await get('/instances/i-9/logs');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'instance_not_found');
    for (const lines of ['0', 'ten', '-1']) {
      const bad = await get(`/instances/i-1/logs?lines=${lines}`);
      assert.equal(bad.status, 400, lines);
      assert.equal(((await bad.json()) as { error: { param: string } }).error.param, 'lines');
    }
    assert.equal((await get('/instances/i-1/logs', 'wrong')).status, 401);
  });
});
