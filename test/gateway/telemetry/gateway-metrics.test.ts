import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createTelemetry } from '../../../runtime/telemetry/index.ts';
import { GatewayMetrics } from '../../../gateway/telemetry/gateway-metrics.ts';

/** The value of one exposition line, found by its name and labels in the order the serializer writes them. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GatewayMetrics (values batched on the way to the OpenTelemetry instruments)', () => {
  const telemetry = createTelemetry({ serviceName: 'gateway-metrics-test' });
  after(() => telemetry.shutdown());
  const metrics = new GatewayMetrics(telemetry.meter, {
    inFlight: () => [['m', 1, 0]],
    readyInstances: () => [['m', 2]],
  });

  it('every value recorded before a collection is in it, across batch boundaries', async () => {
    for (let i = 0; i < 600; i++) metrics.request('m', '/v1/completions', 200, 2); // over a batch's 256
    metrics.request('m', '/v1/completions', 400, 1);
    metrics.request('m', '/v1/chat/completions', 200, 30);
    metrics.queued('m', 0);
    metrics.queued('m', 1500);
    metrics.firstToken('m', 3);
    metrics.perOutputToken('m', 0.7);
    metrics.retried('m');
    const text = await telemetry.metricsText();
    const req = (route: string, status: number) =>
      sample(text, `warmgate_gateway_requests_total{model="m",route="${route}",status="${status}"}`);
    assert.equal(req('/v1/completions', 200), 600);
    assert.equal(req('/v1/completions', 400), 1);
    assert.equal(req('/v1/chat/completions', 200), 1);
    const e2e = 'warmgate_gateway_e2e_latency_seconds';
    assert.equal(sample(text, `${e2e}_count{model="m",route="/v1/completions"}`), 601);
    const sum = sample(text, `${e2e}_sum{model="m",route="/v1/completions"}`)!;
    assert.ok(Math.abs(sum - (600 * 0.002 + 0.001)) < 1e-9, String(sum));
    assert.equal(sample(text, `${e2e}_bucket{model="m",route="/v1/completions",le="0.001"}`), 1);
    assert.equal(sample(text, `${e2e}_count{model="m",route="/v1/chat/completions"}`), 1);
    assert.equal(sample(text, 'warmgate_gateway_queue_time_seconds_count{model="m"}'), 2);
    assert.equal(sample(text, 'warmgate_gateway_queue_time_seconds_sum{model="m"}'), 1.5);
    assert.equal(sample(text, 'warmgate_gateway_time_to_first_token_seconds_count{model="m"}'), 1);
    assert.equal(sample(text, 'warmgate_gateway_time_per_output_token_seconds_count{model="m"}'), 1);
    assert.equal(sample(text, 'warmgate_gateway_upstream_retries_total{model="m"}'), 1);
    assert.equal(sample(text, 'warmgate_gateway_in_flight_requests{model="m"}'), 1);
  });

  it('counts stay cumulative: a later collection adds what came since', async () => {
    metrics.request('m', '/v1/completions', 200, 2);
    const text = await telemetry.metricsText();
    assert.equal(
      sample(text, 'warmgate_gateway_requests_total{model="m",route="/v1/completions",status="200"}'),
      601,
    );
    assert.equal(
      sample(text, 'warmgate_gateway_e2e_latency_seconds_count{model="m",route="/v1/completions"}'),
      602,
    );
  });
});
