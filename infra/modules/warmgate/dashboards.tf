# The Grafana dashboard (infra/dashboards/warmgate.json) as a ConfigMap that Grafana's dashboard sidecar
# (kube-prometheus-stack, the grafana chart with sidecar.dashboards.enabled) loads by its label.

resource "kubernetes_config_map_v1" "grafana_dashboard" {
  count = var.grafana_dashboards ? 1 : 0

  metadata {
    name        = "warmgate-grafana-dashboard"
    namespace   = var.grafana_dashboards_namespace == null ? local.namespace : var.grafana_dashboards_namespace
    labels      = merge(local.common_labels, { grafana_dashboard = "1" })
    annotations = var.grafana_dashboards_folder == null ? {} : { grafana_folder = var.grafana_dashboards_folder }
  }

  data = {
    "warmgate.json" = file("${path.module}/../../dashboards/warmgate.json")
  }
}
