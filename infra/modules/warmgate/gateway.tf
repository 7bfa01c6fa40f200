# The gateway: the public API (/v1, /v2), the admin API (/admin/v1), /live, /ready and /metrics on one
# port. Stateless: replicas share deployments, history and instances through Redis.

resource "kubernetes_deployment_v1" "gateway" {
  metadata {
    name      = "warmgate-gateway"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.gateway_selector)
  }

  spec {
    replicas = var.gateway_replicas

    selector {
      match_labels = local.gateway_selector
    }

    strategy {
      type = "RollingUpdate"
      rolling_update {
        max_unavailable = "0"
        max_surge       = "25%"
      }
    }

    template {
      metadata {
        labels = merge(local.common_labels, local.gateway_selector)
        annotations = merge(local.gateway_scrape, {
          # A changed ConfigMap or Secret rolls the pods (envFrom is read at start only).
          "checksum/config"  = sha256(jsonencode(kubernetes_config_map_v1.gateway.data))
          "checksum/secrets" = sha256(jsonencode(merge(kubernetes_secret_v1.credentials.data, kubernetes_secret_v1.gateway_env.data)))
        })
      }

      spec {
        automount_service_account_token  = false
        termination_grace_period_seconds = 40

        dynamic "image_pull_secrets" {
          for_each = var.image_pull_secrets
          content {
            name = image_pull_secrets.value
          }
        }

        security_context {
          run_as_non_root = true
          run_as_user     = 1000
          run_as_group    = 1000
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        topology_spread_constraint {
          max_skew           = 1
          topology_key       = "kubernetes.io/hostname"
          when_unsatisfiable = "ScheduleAnyway"
          label_selector {
            match_labels = local.gateway_selector
          }
        }

        container {
          name              = "gateway"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          command           = ["node", "dist/gateway/main.js"]

          port {
            name           = "http"
            container_port = local.gateway_port
          }

          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.gateway.metadata[0].name
            }
          }

          env_from {
            secret_ref {
              name = kubernetes_secret_v1.gateway_env.metadata[0].name
            }
          }

          env {
            name = "REDIS_URL"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.credentials.metadata[0].name
                key  = "REDIS_URL"
              }
            }
          }

          env {
            name = "WARMGATE_ADMIN_TOKEN"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.credentials.metadata[0].name
                key  = "WARMGATE_ADMIN_TOKEN"
              }
            }
          }

          env {
            name = "WARMGATE_REPLICA_ID"
            value_from {
              field_ref {
                field_path = "metadata.name"
              }
            }
          }

          readiness_probe {
            http_get {
              path = "/ready"
              port = "http"
            }
            period_seconds    = 5
            timeout_seconds   = 2
            failure_threshold = 2
          }

          liveness_probe {
            http_get {
              path = "/live"
              port = "http"
            }
            initial_delay_seconds = 10
            period_seconds        = 10
            timeout_seconds       = 3
            failure_threshold     = 3
          }

          lifecycle {
            # Endpoints are removed asynchronously: keep serving a few seconds after SIGTERM is due.
            pre_stop {
              exec {
                command = ["node", "-e", "setTimeout(() => {}, 5000)"]
              }
            }
          }

          resources {
            requests = var.gateway_resources.requests
            limits   = var.gateway_resources.limits
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "tmp"
          empty_dir {}
        }
      }
    }
  }

  lifecycle {
    # The HorizontalPodAutoscaler owns the replica count after the first apply.
    ignore_changes = [spec[0].replicas]
  }

  depends_on = [kubernetes_stateful_set_v1.redis, helm_release.otel_collector]
}

resource "kubernetes_service_v1" "gateway" {
  metadata {
    name        = "warmgate-gateway"
    namespace   = local.namespace
    labels      = merge(local.common_labels, local.gateway_selector)
    annotations = var.gateway_service_annotations
  }

  spec {
    type     = var.gateway_service_type
    selector = local.gateway_selector

    port {
      name        = "http"
      port        = 80
      target_port = "http"
    }
  }

  wait_for_load_balancer = var.gateway_service_type == "LoadBalancer"
}

resource "kubernetes_pod_disruption_budget_v1" "gateway" {
  metadata {
    name      = "warmgate-gateway"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.gateway_selector)
  }

  spec {
    max_unavailable = "1"
    selector {
      match_labels = local.gateway_selector
    }
  }
}

# The autoscaler always owns the replica count; with autoscaling off it holds it at gateway_replicas.
resource "kubernetes_horizontal_pod_autoscaler_v2" "gateway" {
  metadata {
    name      = "warmgate-gateway"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.gateway_selector)
  }

  spec {
    min_replicas = var.gateway_autoscaling.enabled ? var.gateway_autoscaling.min_replicas : var.gateway_replicas
    max_replicas = var.gateway_autoscaling.enabled ? var.gateway_autoscaling.max_replicas : var.gateway_replicas

    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = kubernetes_deployment_v1.gateway.metadata[0].name
    }

    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = var.gateway_autoscaling.target_cpu_utilization_pct
        }
      }
    }
  }
}
