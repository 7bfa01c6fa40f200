# Redis: the official image as a one-replica StatefulSet, append-only file on a PersistentVolumeClaim,
# requirepass from the credentials Secret. It holds deployments, request history, the instance registry
# and the controller's leader lease.

resource "kubernetes_service_v1" "redis" {
  metadata {
    name      = "warmgate-redis"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.redis_selector)
  }

  spec {
    selector = local.redis_selector

    port {
      name        = "redis"
      port        = local.redis_port
      target_port = "redis"
    }
  }
}

resource "kubernetes_stateful_set_v1" "redis" {
  metadata {
    name      = "warmgate-redis"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.redis_selector)
  }

  spec {
    service_name = kubernetes_service_v1.redis.metadata[0].name
    replicas     = 1

    selector {
      match_labels = local.redis_selector
    }

    template {
      metadata {
        labels = merge(local.common_labels, local.redis_selector)
        annotations = {
          # A new password restarts Redis with it.
          "checksum/credentials" = sha256(local.redis_password)
        }
      }

      spec {
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = 999 # the redis user of the official image
          run_as_group    = 999
          fs_group        = 999
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name  = "redis"
          image = var.redis_image
          # The image's entrypoint runs redis-server for arguments that begin with '-'; the kubelet
          # expands $(REDIS_PASSWORD).
          args = [
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--dir", "/data",
            "--requirepass", "$(REDIS_PASSWORD)",
          ]

          env {
            name = "REDIS_PASSWORD"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.credentials.metadata[0].name
                key  = "REDIS_PASSWORD"
              }
            }
          }

          env {
            # redis-cli in the probes reads it.
            name = "REDISCLI_AUTH"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.credentials.metadata[0].name
                key  = "REDIS_PASSWORD"
              }
            }
          }

          port {
            name           = "redis"
            container_port = local.redis_port
          }

          readiness_probe {
            exec {
              command = ["sh", "-c", "redis-cli ping | grep -q PONG"]
            }
            period_seconds  = 5
            timeout_seconds = 2
          }

          liveness_probe {
            exec {
              command = ["sh", "-c", "redis-cli ping | grep -q PONG"]
            }
            initial_delay_seconds = 15
            period_seconds        = 10
            timeout_seconds       = 3
            failure_threshold     = 6
          }

          resources {
            requests = var.redis_resources.requests
            limits   = var.redis_resources.limits
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "data"
            mount_path = "/data"
          }
        }
      }
    }

    volume_claim_template {
      metadata {
        name = "data"
      }

      spec {
        access_modes       = ["ReadWriteOnce"]
        storage_class_name = var.redis_storage_class

        resources {
          requests = {
            storage = var.redis_storage_size
          }
        }
      }
    }
  }
}
