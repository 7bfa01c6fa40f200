# Configuration: one ConfigMap per component (loaded whole with envFrom) and one Secret with the
# credentials, read key by key with secretKeyRef.

resource "random_password" "redis" {
  length  = 32
  special = false # it goes into REDIS_URL
}

resource "random_password" "admin_token" {
  length  = 40
  special = false
}

resource "kubernetes_config_map_v1" "gateway" {
  metadata {
    name      = "warmgate-gateway"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.gateway_selector)
  }

  data = merge(local.gateway_env, var.gateway_env)
}

resource "kubernetes_config_map_v1" "controller" {
  metadata {
    name      = "warmgate-controller"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.controller_selector)
  }

  data = { for k, v in merge(local.controller_env, local.controller_optional_env, var.controller_env) : k => v if v != null }
}

resource "kubernetes_secret_v1" "credentials" {
  metadata {
    name      = "warmgate-credentials"
    namespace = local.namespace
    labels    = local.common_labels
  }

  data = {
    REDIS_URL            = local.redis_url
    REDIS_PASSWORD       = local.redis_password
    WARMGATE_ADMIN_TOKEN = local.admin_token
  }
}

# Secret gateway settings such as API keys, loaded whole into the gateway with envFrom.
resource "kubernetes_secret_v1" "gateway_env" {
  metadata {
    name      = "warmgate-gateway-env"
    namespace = local.namespace
    labels    = merge(local.common_labels, local.gateway_selector)
  }

  data = var.gateway_secret_env
}
