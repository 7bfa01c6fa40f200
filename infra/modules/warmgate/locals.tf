locals {
  namespace         = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace
  runtime_namespace = var.runtime_namespace == null ? local.namespace : var.runtime_namespace

  # The ports the processes listen on: each is also the PORT of its ConfigMap, its containerPort, its
  # probes' port and its scrape annotation (test/infra checks all four against the code).
  gateway_port    = 8080
  controller_port = 8081
  runtime_port    = 8080
  redis_port      = 6379
  otlp_http_port  = 4318

  common_labels = merge(var.labels, {
    "app.kubernetes.io/name"       = "warmgate"
    "app.kubernetes.io/part-of"    = "warmgate"
    "app.kubernetes.io/managed-by" = "terraform"
  })
  gateway_selector    = { "app.kubernetes.io/name" = "warmgate", "app.kubernetes.io/component" = "gateway" }
  controller_selector = { "app.kubernetes.io/name" = "warmgate", "app.kubernetes.io/component" = "controller" }
  redis_selector      = { "app.kubernetes.io/name" = "warmgate", "app.kubernetes.io/component" = "redis" }

  redis_host     = "${kubernetes_service_v1.redis.metadata[0].name}.${local.namespace}.svc.cluster.local"
  redis_password = coalesce(var.redis_password, random_password.redis.result)
  redis_url      = "redis://:${urlencode(local.redis_password)}@${local.redis_host}:${local.redis_port}/0"
  admin_token    = coalesce(var.admin_token, random_password.admin_token.result)

  # The collector's Service is named by the chart's fullnameOverride (otel.tf).
  otel_collector_name = "otel-collector"
  otlp_endpoint       = "http://${local.otel_collector_name}.${local.namespace}.svc.cluster.local:${local.otlp_http_port}"

  # Non-secret settings, one ConfigMap per component. Keys are variables of the component's environment
  # schema (gateway/config/gateway-environment.ts, warmpool/config/controller-environment.ts).
  gateway_env = {
    HOST                        = "0.0.0.0"
    PORT                        = tostring(local.gateway_port)
    OTEL_EXPORTER_OTLP_ENDPOINT = local.otlp_endpoint
    WARMGATE_ROUTING            = var.gateway_routing
    WARMGATE_API_KEYS           = var.gateway_api_keys
  }
  controller_env = {
    HOST                           = "0.0.0.0"
    PORT                           = tostring(local.controller_port)
    OTEL_EXPORTER_OTLP_ENDPOINT    = local.otlp_endpoint
    WARMGATE_PROVIDER              = "kubernetes"
    WARMGATE_NAMESPACE             = local.runtime_namespace
    WARMGATE_RUNTIME_IMAGE         = coalesce(var.runtime_image, var.image)
    WARMGATE_RUNTIME_PORT          = tostring(local.runtime_port)
    WARMGATE_RUNTIME_GPUS          = tostring(var.runtime_gpus)
    WARMGATE_RUNTIME_NODE_SELECTOR = jsonencode(var.runtime_node_selector)
    WARMGATE_RUNTIME_TOLERATIONS   = jsonencode(local.runtime_tolerations)
    WARMGATE_RUNTIME_MODEL_MOUNT   = var.runtime_model_mount
    WARMGATE_POLICY                = var.controller_policy
    WARMGATE_SCALE_TO_ZERO         = tostring(var.controller_scale_to_zero)
  }
  # Set only when given (an empty value would mean something else than unset to a reader).
  controller_optional_env = {
    WARMGATE_RUNTIME_MODEL_CLAIM = var.runtime_model_claim
  }

  # Kubernetes field names (camelCase), as the controller passes them into pod specs.
  runtime_tolerations = [
    for t in var.runtime_tolerations : { for k, v in {
      key               = t.key
      operator          = t.operator
      value             = t.value
      effect            = t.effect
      tolerationSeconds = t.toleration_seconds
    } : k => v if v != null }
  ]

  # Prometheus scrape annotations of each component's pods: its own port, its GET /metrics.
  gateway_scrape = {
    "prometheus.io/scrape" = "true"
    "prometheus.io/port"   = tostring(local.gateway_port)
    "prometheus.io/path"   = "/metrics"
  }
  controller_scrape = {
    "prometheus.io/scrape" = "true"
    "prometheus.io/port"   = tostring(local.controller_port)
    "prometheus.io/path"   = "/metrics"
  }
}

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = local.common_labels
  }
}
