/**
 * The /metrics text of each component as it really runs: a gateway in front of a real runtime instance of
 * runtime/models/tiny that has answered a streamed completion (so its histograms have samples), and the
 * controller's app over a pool made ready by a fake provider in simulated time. The dashboard test and
 * `promtool check metrics` read these, never a hand-written list of names.
 */
import assert from 'node:assert/strict';
import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { createTelemetry } from '../../runtime/telemetry/index.ts';
import { createHistoryStore } from '../../gateway/request-history/index.ts';
import { Controller } from '../../warmpool/controller/index.ts';
import { MemoryDemandFeed } from '../../warmpool/demand-feed/index.ts';
import { controllerMetrics, createControllerApp } from '../../warmpool/service/controller-app.ts';
import { metricsText } from '../e2e/observe.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { FakeProvider } from '../support/fake-provider.ts';
import { deployment, SCALING, startPlatform } from '../support/platform.ts';
import { recordRequest } from '../support/record-request.ts';

export interface Scraped {
  readonly gateway: string;
  readonly instance: string;
  readonly controller: string;
}

export async function scrapeGatewayAndInstance(): Promise<Pick<Scraped, 'gateway' | 'instance'>> {
  const p = await startPlatform({ deployments: [{ spec: deployment('tiny', 'generative', 'tiny') }] });
  try {
    const res = await fetch(`${p.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'dashboard ', max_tokens: 4, stream: true }),
    });
    assert.equal(res.status, 200);
    await res.text();
    return { gateway: await metricsText(p.url), instance: await metricsText(p.instances[0]!.launched.url) };
  } finally {
    await p.close();
  }
}

export async function scrapeController(): Promise<string> {
  const T0 = 1_000_000;
  using clock = new FakeClock(T0);
  const provider = new FakeProvider(clock);
  provider.behaviour = () => ({ readyAfterMs: 1000 });
  const spec: DeploymentSpec = deployment('tiny', 'generative', 'tiny', { scaling: { ...SCALING } });
  // A request in the history: the policies decide from it, and the controller exports its forecast.
  const history = createHistoryStore({ clock });
  recordRequest(history, {
    model: 'tiny',
    at: T0 - 5000,
    promptTokens: 1,
    outputTokens: 1,
    ttftMs: 10,
    outcome: 'ok',
  });
  await history.flush();
  const controller = new Controller({
    deployments: () => [spec],
    demand: () => ({ inUse: 0, queued: 0 }),
    provider,
    clock,
    feed: new MemoryDemandFeed({ store: history }),
  });
  await controller.tick(T0);
  await clock.advanceTo(T0 + 2000);
  await controller.tick(T0 + 2000);
  const telemetry = createTelemetry({ serviceName: 'infra-test-controller' });
  try {
    // As warmpool/main.ts wires them: the gauges, then the app that serves them.
    const status = () => ({ leading: true, holderId: 'infra-test' });
    controllerMetrics(telemetry, controller, status);
    const app = createControllerApp({
      controller,
      status,
      telemetry,
      ready: () => true,
    });
    const res = await app.request('/metrics');
    assert.equal(res.status, 200);
    return await res.text();
  } finally {
    await telemetry.shutdown();
    await history.close();
  }
}
