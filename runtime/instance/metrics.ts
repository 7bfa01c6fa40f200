import type { BatchObservableCallback, Counter, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { EngineStats } from '../engine/index.ts';

export type RequestStatus = 'ok' | 'error' | 'aborted' | 'rejected';

// From a millisecond up to a long generation: time to first token, queue and end-to-end latency.
const LATENCY_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const PER_TOKEN_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const BATCH = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** What one request adds to the metrics; latencies in seconds, absent where it never got there. */
export interface RequestRecord {
  readonly status: RequestStatus;
  readonly queueS?: number;
  readonly ttftS?: number;
  readonly tpotS?: number;
  readonly e2eS?: number;
}

/**
 * The instance's Prometheus metrics (warmgate_runtime_*). Request metrics are recorded as requests
 * end, batch sizes as the engine steps or the batcher calls ONNX Runtime, and the engine's gauges are
 * read from engine.stats() when /metrics is scraped.
 */
export class RuntimeMetrics {
  readonly #meter: Meter;
  readonly #requests: Counter;
  readonly #ttft: Histogram;
  readonly #tpot: Histogram;
  readonly #e2e: Histogram;
  readonly #queue: Histogram;
  readonly #batch: Histogram;
  readonly #tokens: Counter;
  #observer: { callback: BatchObservableCallback; observables: Observable[] } | null = null;

  constructor(meter: Meter) {
    this.#meter = meter;
    const histogram = (name: string, description: string, buckets = LATENCY_S) =>
      meter.createHistogram(`warmgate_runtime_${name}`, {
        description,
        advice: { explicitBucketBoundaries: buckets },
      });
    this.#requests = meter.createCounter('warmgate_runtime_requests_total', {
      description: 'Requests answered, by status (ok, error, aborted, rejected)',
    });
    this.#ttft = histogram('time_to_first_token_seconds', 'Arrival at the engine to the first token');
    this.#tpot = histogram(
      'time_per_output_token_seconds',
      'Decode time per token after the first',
      PER_TOKEN_S,
    );
    this.#e2e = histogram('e2e_latency_seconds', 'Arrival to the last token or tensor output');
    this.#queue = histogram('queue_time_seconds', 'Arrival to the first step or ONNX Runtime call');
    this.#batch = histogram(
      'batch_size',
      'Sequences per engine step (generative) or rows per ONNX Runtime call (tensor)',
      BATCH,
    );
    this.#tokens = meter.createCounter('warmgate_runtime_tokens_generated_total', {
      description: 'Tokens sampled',
    });
  }

  request(model: string, r: RequestRecord): void {
    const attrs = { model };
    this.#requests.add(1, { model, status: r.status });
    if (r.queueS !== undefined) this.#queue.record(r.queueS, attrs);
    if (r.ttftS !== undefined) this.#ttft.record(r.ttftS, attrs);
    if (r.tpotS !== undefined) this.#tpot.record(r.tpotS, attrs);
    if (r.e2eS !== undefined) this.#e2e.record(r.e2eS, attrs);
  }

  /** One engine step or one ONNX Runtime call of a tensor function. */
  batch(model: string, size: number, tokensSampled = 0): void {
    this.#batch.record(size, { model });
    if (tokensSampled) this.#tokens.add(tokensSampled, { model });
  }

  /**
   * warmgate_runtime_info{model, execution_provider[, gpu]} 1 once a model is loaded: which ONNX Runtime
   * provider serves it (a GPU deployment that fell back to the CPU shows here), and on a GPU pinned with
   * --gpu, its index on the host.
   */
  observeInfo(
    model: () => string,
    provider: () => string | null,
    gpu: () => number | null = () => null,
  ): void {
    const info = this.#meter.createObservableGauge('warmgate_runtime_info', {
      description: 'The served model and the execution provider it runs on (value 1)',
    });
    info.addCallback((r) => {
      const p = provider();
      const g = gpu();
      if (p !== null)
        r.observe(1, { model: model(), execution_provider: p, ...(g !== null && { gpu: String(g) }) });
    });
  }

  /**
   * warmgate_runtime_start_phase_seconds{model, phase} once ready: how long loading (and on a GPU its
   * device and weights parts) and the warm-up inference took.
   */
  observeStartPhases(model: () => string, phases: () => Readonly<Record<string, number>> | null): void {
    const gauge = this.#meter.createObservableGauge('warmgate_runtime_start_phase_seconds', {
      description: 'Start-up phases of this instance (load, device, weights, warm_up), seconds',
    });
    gauge.addCallback((r) => {
      for (const [phase, ms] of Object.entries(phases() ?? {}))
        r.observe(ms / 1000, { model: model(), phase: phase === 'warmUp' ? 'warm_up' : phase });
    });
  }

  /** Gauges read from the engine at each scrape; `stats` answers null while there is no engine. */
  observeEngine(model: () => string, stats: () => EngineStats | null): void {
    const m = this.#meter;
    const running = m.createObservableGauge('warmgate_runtime_running_requests', {
      description: 'Sequences running in the engine',
    });
    const waiting = m.createObservableGauge('warmgate_runtime_waiting_requests', {
      description: 'Sequences waiting for admission',
    });
    const usage = m.createObservableGauge('warmgate_runtime_kv_usage_ratio', {
      description: 'KV blocks in use / total',
    });
    const free = m.createObservableGauge('warmgate_runtime_kv_free_blocks', {
      description: 'KV blocks an allocation may take',
    });
    const hits = m.createObservableCounter('warmgate_runtime_prefix_cache_hit_tokens_total', {
      description: 'Prompt tokens found in the prefix cache',
    });
    const queried = m.createObservableCounter('warmgate_runtime_prefix_cache_query_tokens_total', {
      description: 'Prompt tokens looked up in the prefix cache',
    });
    const stalled = m.createObservableCounter('warmgate_runtime_stalled_cancels_total', {
      description: 'Requests cancelled because their reader fell more than --max-buffered-events behind',
    });
    const peakBuffered = m.createObservableGauge('warmgate_runtime_peak_buffered_events', {
      description: 'The most events one request has held unread since the instance started',
    });
    const callback: BatchObservableCallback = (r) => {
      const s = stats();
      if (!s) return;
      const attrs = { model: model() };
      r.observe(running, s.running, attrs);
      r.observe(waiting, s.waiting, attrs);
      r.observe(usage, s.kvUsagePct / 100, attrs);
      r.observe(free, s.kvFreeBlocks, attrs);
      r.observe(hits, s.prefixHitTokens, attrs);
      r.observe(queried, s.prefixQueryTokens, attrs);
      r.observe(stalled, s.stalledCancels, attrs);
      r.observe(peakBuffered, s.peakBufferedEvents, attrs);
    };
    const observables = [running, waiting, usage, free, hits, queried, stalled, peakBuffered];
    m.addBatchObservableCallback(callback, observables);
    this.#observer = { callback, observables };
  }

  /** Stops reading the engine (the instance stopped; the meter may outlive it). */
  close(): void {
    if (this.#observer)
      this.#meter.removeBatchObservableCallback(this.#observer.callback, this.#observer.observables);
    this.#observer = null;
  }
}
