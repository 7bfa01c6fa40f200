# The warm-pool controller: creates and deletes runtime pods through the Kubernetes API. Replicas elect
# a leader through Redis (key wg:warmpool:leader), so two are safe and no Lease RBAC is needed.

resource "kubernetes_service_account_v1" "controller" {
  metadata {
    name      = "warmgate-controller"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.controller_selector)
  }
}

# What warmpool/providers/kubernetes/kubernetes-provider.ts calls: createNamespacedPod,
# deleteNamespacedPod, readNamespacedPod, listNamespacedPod.
resource "kubernetes_role_v1" "controller" {
  metadata {
    name      = "warmgate-controller"
    namespace = local.runtime_namespace
    labels    = merge(local.common_labels, local.controller_selector)
  }

  rule {
    api_groups = [""]
    resources  = ["pods"]
    verbs      = ["create", "delete", "get", "list"]
  }
}

resource "kubernetes_role_binding_v1" "controller" {
  metadata {
    name      = "warmgate-controller"
    namespace = local.runtime_namespace
    labels    = merge(local.common_labels, local.controller_selector)
  }

  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.controller.metadata[0].name
  }

  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.controller.metadata[0].name
    namespace = local.namespace
  }
}

resource "kubernetes_deployment_v1" "controller" {
  metadata {
    name      = "warmgate-controller"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.controller_selector)
  }

  spec {
    replicas = var.controller_replicas

    selector {
      match_labels = local.controller_selector
    }

    template {
      metadata {
        labels = merge(local.common_labels, local.controller_selector)
        annotations = merge(local.controller_scrape, {
          "checksum/config"  = sha256(jsonencode(kubernetes_config_map_v1.controller.data))
          "checksum/secrets" = sha256(jsonencode(kubernetes_secret_v1.credentials.data))
        })
      }

      spec {
        service_account_name             = kubernetes_service_account_v1.controller.metadata[0].name
        automount_service_account_token  = true
        termination_grace_period_seconds = 30

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
            match_labels = local.controller_selector
          }
        }

        container {
          name              = "controller"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          command           = ["node", "dist/warmpool/main.js"]

          port {
            name           = "http"
            container_port = local.controller_port
          }

          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.controller.metadata[0].name
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
            # Its name in the leader election: the pod's name.
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

          resources {
            requests = var.controller_resources.requests
            limits   = var.controller_resources.limits
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

  depends_on = [kubernetes_stateful_set_v1.redis, helm_release.otel_collector, kubernetes_role_binding_v1.controller]
}

# For ServiceMonitors and for reading /admin/v1/controller (kubectl port-forward svc/warmgate-controller).
resource "kubernetes_service_v1" "controller" {
  metadata {
    name      = "warmgate-controller"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.controller_selector)
  }

  spec {
    selector = local.controller_selector

    port {
      name        = "http"
      port        = local.controller_port
      target_port = "http"
    }
  }
}

resource "kubernetes_pod_disruption_budget_v1" "controller" {
  metadata {
    name      = "warmgate-controller"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.controller_selector)
  }

  spec {
    max_unavailable = "1"
    selector {
      match_labels = local.controller_selector
    }
  }
}
