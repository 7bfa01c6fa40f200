# Prometheus Operator ServiceMonitors, when asked for (the CRD must already exist: kubernetes_manifest
# reads it at plan time). Pods carry prometheus.io/* annotations either way.

resource "kubernetes_manifest" "gateway_service_monitor" {
  count = var.service_monitor ? 1 : 0

  manifest = {
    apiVersion = "monitoring.coreos.com/v1"
    kind       = "ServiceMonitor"
    metadata = {
      name      = "warmgate-gateway"
      namespace = local.namespace
      labels    = merge(local.common_labels, var.service_monitor_labels)
    }
    spec = {
      selector  = { matchLabels = local.gateway_selector }
      endpoints = [{ port = "http", path = "/metrics", interval = "15s" }]
    }
  }
}

resource "kubernetes_manifest" "controller_service_monitor" {
  count = var.service_monitor ? 1 : 0

  manifest = {
    apiVersion = "monitoring.coreos.com/v1"
    kind       = "ServiceMonitor"
    metadata = {
      name      = "warmgate-controller"
      namespace = local.namespace
      labels    = merge(local.common_labels, var.service_monitor_labels)
    }
    spec = {
      selector  = { matchLabels = local.controller_selector }
      endpoints = [{ port = "http", path = "/metrics", interval = "15s" }]
    }
  }
}
