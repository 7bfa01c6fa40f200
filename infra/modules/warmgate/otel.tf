# The OpenTelemetry Collector (open-telemetry/opentelemetry-collector chart): receives OTLP/HTTP on
# 4318 from the gateway and the controller (and from runtime pods the controller passes it to), and
# forwards traces to otel_traces_endpoint or logs them.

locals {
  # One traces exporter: the upstream backend when there is one, else the collector's own log.
  otel_trace_exporter = var.otel_traces_endpoint == null ? "debug" : "otlphttp/upstream"
  otel_trace_exporter_config = (
    var.otel_traces_endpoint == null ? { verbosity = "basic" } : { endpoint = var.otel_traces_endpoint }
  )
}

resource "helm_release" "otel_collector" {
  name       = local.otel_collector_name
  namespace  = local.namespace
  repository = "https://open-telemetry.github.io/opentelemetry-helm-charts"
  chart      = "opentelemetry-collector"
  version    = var.otel_collector_chart_version

  values = [yamlencode({
    mode             = "deployment"
    fullnameOverride = local.otel_collector_name
    image            = { repository = "otel/opentelemetry-collector-k8s" }
    replicaCount     = 1
    ports = {
      "otlp-http"      = { enabled = true, containerPort = local.otlp_http_port, servicePort = local.otlp_http_port }
      otlp             = { enabled = true }
      "jaeger-compact" = { enabled = false }
      "jaeger-thrift"  = { enabled = false }
      "jaeger-grpc"    = { enabled = false }
      zipkin           = { enabled = false }
    }
    config = {
      receivers = {
        jaeger = null
        zipkin = null
        otlp = {
          protocols = {
            http = { endpoint = "$${env:MY_POD_IP}:${local.otlp_http_port}" }
          }
        }
      }
      exporters = { (local.otel_trace_exporter) = local.otel_trace_exporter_config }
      service = {
        pipelines = {
          traces = {
            receivers  = ["otlp"]
            processors = ["memory_limiter", "batch"]
            exporters  = [local.otel_trace_exporter]
          }
        }
      }
    }
  })]

  depends_on = [kubernetes_namespace_v1.this]
}
