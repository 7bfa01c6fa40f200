import { type Meter, ProxyTracerProvider, type Tracer } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { ensureContextManager } from './context-manager.ts';
import { LazyOtlpExporter } from './lazy-otlp-exporter.ts';

export interface TelemetryOptions {
  /** e.g. 'warmgate-gateway', 'warmgate-runtime'. */
  serviceName: string;
  /** OTLP http/protobuf base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://127.0.0.1:4318; traces go to `${endpoint}/v1/traces`. */
  otlpEndpoint?: string;
  /** Extra exporter, e.g. an InMemorySpanExporter in tests (exported through a SimpleSpanProcessor). */
  spanExporter?: SpanExporter;
}

export interface Telemetry {
  /**
   * Records spans only when they go somewhere (an OTLP endpoint or an exporter); otherwise a no-op tracer,
   * and no context manager is installed: measured, recording unexported spans and carrying context across
   * every await cost the gateway more than half its throughput.
   */
  readonly tracing: boolean;
  readonly tracer: Tracer;
  readonly meter: Meter;
  /** Every metric of this Telemetry in Prometheus text exposition format (for GET /metrics). */
  metricsText(): Promise<string>;
  /** Flushes spans (forceFlush): tests call it before reading exporters. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * One service's tracer and meter. Nothing is registered globally (besides the context manager), so a
 * gateway and its instances can each have their own in one process, as the tests run them.
 */
export function createTelemetry(o: TelemetryOptions): Telemetry {
  const tracing = Boolean(o.otlpEndpoint || o.spanExporter);
  if (tracing) ensureContextManager();
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: o.serviceName });
  const spanProcessors: SpanProcessor[] = [];
  if (o.otlpEndpoint) {
    const url = `${o.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
    spanProcessors.push(new BatchSpanProcessor(new LazyOtlpExporter(url)));
  }
  if (o.spanExporter) spanProcessors.push(new SimpleSpanProcessor(o.spanExporter));
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors,
    // Stated here so that OTEL_TRACES_SAMPLER in the environment cannot change it underneath.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  });
  // A reader only: /metrics is served by the caller's own HTTP server.
  const reader = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  const serializer = new PrometheusSerializer('', false, undefined, false, true);
  return {
    tracing,
    tracer: tracing
      ? tracerProvider.getTracer(o.serviceName)
      : new ProxyTracerProvider().getTracer(o.serviceName),
    meter: meterProvider.getMeter(o.serviceName),
    async metricsText() {
      const { resourceMetrics } = await reader.collect();
      return serializer.serialize(resourceMetrics);
    },
    flush: () => tracerProvider.forceFlush(),
    async shutdown() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
