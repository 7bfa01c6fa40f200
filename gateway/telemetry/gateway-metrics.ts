import type { Meter } from '@opentelemetry/api';

const LATENCY_BUCKETS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export interface GatewayGauges {
  /** Per model: requests in flight through the gateway, and waiting for a ready instance. */
  inFlight(): Iterable<[model: string, inFlight: number, queued: number]>;
  /** Per model: ready instances. */
  readyInstances(): Iterable<[model: string, ready: number]>;
}

/**
 * The gateway's metrics, exposed on GET /metrics as warmgate_gateway_*. One place names them all (the
 * README lists the same names).
 */
export class GatewayMetrics {
  readonly #requests;
  readonly #ttft;
  readonly #tpot;
  readonly #e2e;
  readonly #queue;
  readonly #retries;

  constructor(meter: Meter, gauges: GatewayGauges) {
    const hist = (name: string, description: string) =>
      meter.createHistogram(name, {
        description,
        unit: 's',
        advice: { explicitBucketBoundaries: LATENCY_BUCKETS_S },
      });
    this.#requests = meter.createCounter('warmgate_gateway_requests', {
      description: 'Requests by model, route and HTTP status',
    });
    this.#ttft = hist('warmgate_gateway_time_to_first_token_seconds', 'Arrival to first token sent');
    this.#tpot = hist('warmgate_gateway_time_per_output_token_seconds', 'Mean gap between output tokens');
    this.#e2e = hist('warmgate_gateway_e2e_latency_seconds', 'Arrival to the last byte of the response');
    this.#queue = hist('warmgate_gateway_queue_time_seconds', 'Time waiting for a ready instance');
    this.#retries = meter.createCounter('warmgate_gateway_upstream_retries', {
      description: 'Requests sent to a second instance after the first failed before answering',
    });
    meter
      .createObservableGauge('warmgate_gateway_in_flight_requests', {
        description: 'Requests in flight through the gateway, by model',
      })
      .addCallback((r) => {
        for (const [model, n] of gauges.inFlight()) r.observe(n, { model });
      });
    meter
      .createObservableGauge('warmgate_gateway_queued_requests', {
        description: 'Requests waiting for a ready instance, by model',
      })
      .addCallback((r) => {
        for (const [model, , q] of gauges.inFlight()) r.observe(q, { model });
      });
    meter
      .createObservableGauge('warmgate_gateway_ready_instances', { description: 'Ready instances, by model' })
      .addCallback((r) => {
        for (const [model, n] of gauges.readyInstances()) r.observe(n, { model });
      });
  }

  request(model: string, route: string, status: number, e2eMs: number): void {
    this.#requests.add(1, { model, route, status: String(status) });
    this.#e2e.record(e2eMs / 1000, { model, route });
  }

  firstToken(model: string, ttftMs: number): void {
    this.#ttft.record(ttftMs / 1000, { model });
  }

  perOutputToken(model: string, tpotMs: number): void {
    this.#tpot.record(tpotMs / 1000, { model });
  }

  queued(model: string, queueMs: number): void {
    this.#queue.record(queueMs / 1000, { model });
  }

  retried(model: string): void {
    this.#retries.add(1, { model });
  }
}
