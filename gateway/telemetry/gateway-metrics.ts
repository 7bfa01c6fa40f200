import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import { HistogramBatch } from './histogram-batch.ts';
import { type Quantiles, RecentLatency } from './recent-latency.ts';

const LATENCY_BUCKETS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

interface RequestSeries {
  /** Requests not yet added to the counter. */
  count: number;
  readonly counted: Attributes;
  readonly e2e: HistogramBatch;
}

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
  /**
   * Values wait here and reach the OpenTelemetry instruments in batches, always before metrics are
   * collected (the SDK runs observable callbacks before it reads its instruments): a request's counter add
   * and histogram records, one by one, cost about a tenth of its CPU. Request counts are summed into one
   * add per series; histogram values go in HistogramBatch buffers. Attribute objects are built once.
   */
  readonly #series = new Map<string, RequestSeries>();
  readonly #ttftByModel = new Map<string, HistogramBatch>();
  readonly #tpotByModel = new Map<string, HistogramBatch>();
  readonly #queueByModel = new Map<string, HistogramBatch>();
  /** The last TTFTs and TPOTs per model, for the status page's p50/p99. */
  readonly #recent = new Map<string, { ttft: RecentLatency; tpot: RecentLatency }>();

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
        this.#flush();
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
    const key = `${model}\n${route}\n${status}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      s = {
        count: 0,
        counted: { model, route, status: String(status) },
        e2e: this.#e2eSeries(model, route),
      };
      this.#series.set(key, s);
    }
    s.count++;
    s.e2e.record(e2eMs / 1000);
  }

  firstToken(model: string, ttftMs: number): void {
    byModel(this.#ttftByModel, this.#ttft, model).record(ttftMs / 1000);
    this.#recentOf(model).ttft.note(ttftMs);
  }

  perOutputToken(model: string, tpotMs: number): void {
    byModel(this.#tpotByModel, this.#tpot, model).record(tpotMs / 1000);
    this.#recentOf(model).tpot.note(tpotMs);
  }

  /** p50 and p99 of the model's most recent TTFTs and TPOTs at this gateway (null before any). */
  recentLatency(model: string): { ttft: Quantiles | null; tpot: Quantiles | null } {
    const r = this.#recent.get(model);
    return { ttft: r?.ttft.quantiles() ?? null, tpot: r?.tpot.quantiles() ?? null };
  }

  #recentOf(model: string): { ttft: RecentLatency; tpot: RecentLatency } {
    let r = this.#recent.get(model);
    if (r === undefined)
      this.#recent.set(model, (r = { ttft: new RecentLatency(), tpot: new RecentLatency() }));
    return r;
  }

  queued(model: string, queueMs: number): void {
    byModel(this.#queueByModel, this.#queue, model).record(queueMs / 1000);
  }

  /** One e2e batch per (model, route), shared by that route's statuses. */
  #e2eSeries(model: string, route: string): HistogramBatch {
    for (const [k, s] of this.#series) {
      if (k.startsWith(`${model}\n${route}\n`)) return s.e2e;
    }
    return new HistogramBatch(this.#e2e, { model, route });
  }

  /** Everything waiting, into the OpenTelemetry instruments. */
  #flush(): void {
    for (const s of this.#series.values()) {
      if (s.count > 0) this.#requests.add(s.count, s.counted);
      s.count = 0;
      s.e2e.flush(); // shared by a route's statuses: a second flush finds it empty
    }
    for (const m of [this.#ttftByModel, this.#tpotByModel, this.#queueByModel]) {
      for (const b of m.values()) b.flush();
    }
  }

  retried(model: string): void {
    this.#retries.add(1, { model });
  }
}

function byModel(batches: Map<string, HistogramBatch>, h: Histogram, model: string): HistogramBatch {
  let b = batches.get(model);
  if (b === undefined) batches.set(model, (b = new HistogramBatch(h, { model })));
  return b;
}
