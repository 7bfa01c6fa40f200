# Inputs of the warmgate module. Validation blocks guard the values that would otherwise deploy
# something that starts but does not work (a port nobody listens on, a policy the controller refuses).

variable "namespace" {
  type        = string
  description = "Namespace for the gateway, the controller, Redis and the OpenTelemetry Collector."
  default     = "warmgate"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label (lower case letters, digits, '-', at most 63)."
  }
}

variable "create_namespace" {
  type        = bool
  description = "Create the namespace (false: it exists already)."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Extra labels on every object the module creates."
  default     = {}
}

variable "image" {
  type        = string
  description = "The warmgate image (infra/docker/Dockerfile), e.g. ghcr.io/acme/warmgate:0.1.0. The gateway, the controller and, unless runtime_image is set, runtime pods run it."

  validation {
    condition     = can(regex("^[^\\s]+$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must be a reference without spaces, pinned to a tag or digest other than :latest (rollouts and runtime pods must run the same build)."
  }
}

variable "image_pull_policy" {
  type        = string
  description = "imagePullPolicy of the gateway and controller containers."
  default     = "IfNotPresent"

  validation {
    condition     = contains(["Always", "IfNotPresent", "Never"], var.image_pull_policy)
    error_message = "image_pull_policy must be Always, IfNotPresent or Never."
  }
}

variable "image_pull_secrets" {
  type        = list(string)
  description = "Names of existing Secrets (in the namespace) used to pull the image."
  default     = []
}

# --- gateway ---------------------------------------------------------------------------------------

variable "gateway_replicas" {
  type        = number
  description = "Gateway replicas at the first apply, and always when gateway_autoscaling.enabled is false."
  default     = 2

  validation {
    condition     = var.gateway_replicas >= 1 && floor(var.gateway_replicas) == var.gateway_replicas
    error_message = "gateway_replicas must be a whole number >= 1."
  }
}

variable "gateway_autoscaling" {
  type = object({
    enabled                    = optional(bool, true)
    min_replicas               = optional(number, 2)
    max_replicas               = optional(number, 10)
    target_cpu_utilization_pct = optional(number, 70)
  })
  description = "HorizontalPodAutoscaler of the gateway on CPU utilization (of gateway_resources.requests.cpu)."
  default     = {}

  validation {
    condition = (
      var.gateway_autoscaling.min_replicas >= 1 &&
      var.gateway_autoscaling.max_replicas >= var.gateway_autoscaling.min_replicas &&
      var.gateway_autoscaling.target_cpu_utilization_pct > 0 &&
      var.gateway_autoscaling.target_cpu_utilization_pct <= 100
    )
    error_message = "gateway_autoscaling needs 1 <= min_replicas <= max_replicas and 0 < target_cpu_utilization_pct <= 100."
  }
}

variable "gateway_resources" {
  type = object({
    requests = optional(map(string), { cpu = "500m", memory = "512Mi" })
    limits   = optional(map(string), { memory = "1Gi" })
  })
  description = "Resources of the gateway container. requests.cpu is what CPU autoscaling measures against."
  default     = {}

  validation {
    condition     = contains(keys(var.gateway_resources.requests), "cpu")
    error_message = "gateway_resources.requests must set cpu: the autoscaler's utilization is relative to it."
  }
}

variable "gateway_service_type" {
  type        = string
  description = "Service type of the gateway: ClusterIP (reach it through an Ingress or port-forward), LoadBalancer or NodePort."
  default     = "ClusterIP"

  validation {
    condition     = contains(["ClusterIP", "LoadBalancer", "NodePort"], var.gateway_service_type)
    error_message = "gateway_service_type must be ClusterIP, LoadBalancer or NodePort."
  }
}

variable "gateway_service_annotations" {
  type        = map(string)
  description = "Annotations of the gateway Service (e.g. a cloud load balancer's scheme)."
  default     = {}
}

variable "gateway_routing" {
  type        = string
  description = "How the gateway picks among ready instances (WARMGATE_ROUTING)."
  default     = "prefix"

  validation {
    condition     = contains(["prefix", "least-load", "round-robin"], var.gateway_routing)
    error_message = "gateway_routing must be prefix, least-load or round-robin."
  }
}

variable "gateway_api_keys" {
  type        = string
  description = "Whether the public API requires an API key (WARMGATE_API_KEYS); keys are made with POST /admin/v1/keys."
  default     = "required"

  validation {
    condition     = contains(["required", "off"], var.gateway_api_keys)
    error_message = "gateway_api_keys must be required or off."
  }
}

variable "gateway_env" {
  type        = map(string)
  description = "More gateway settings, as variables of gateway/config/gateway-environment.ts (e.g. WARMGATE_MAX_CONCURRENCY = \"1024\"). Not for secrets: use gateway_secret_env."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.gateway_env) : can(regex("^(WARMGATE|OTEL)_[A-Z0-9_]+$", k))])
    error_message = "gateway_env keys must be WARMGATE_* or OTEL_* variables of the gateway's environment schema."
  }
}

variable "gateway_secret_env" {
  type        = map(string)
  description = "Secret gateway settings (API keys and the like), as variables of the gateway's environment schema; stored in a Secret."
  default     = {}
  sensitive   = true

  validation {
    condition     = alltrue([for k in keys(var.gateway_secret_env) : can(regex("^WARMGATE_[A-Z0-9_]+$", k))])
    error_message = "gateway_secret_env keys must be WARMGATE_* variables of the gateway's environment schema."
  }
}

variable "admin_token" {
  type        = string
  description = "Bearer token of the admin API (WARMGATE_ADMIN_TOKEN). Null: a random one (see the admin_token output)."
  default     = null
  sensitive   = true

  validation {
    condition     = var.admin_token == null || try(length(var.admin_token) >= 24, false)
    error_message = "admin_token must be at least 24 characters."
  }
}

# --- controller ------------------------------------------------------------------------------------

variable "controller_replicas" {
  type        = number
  description = "Controller replicas. One leads at a time (a lease in Redis); the others take over when it dies."
  default     = 2

  validation {
    condition     = var.controller_replicas >= 1 && floor(var.controller_replicas) == var.controller_replicas
    error_message = "controller_replicas must be a whole number >= 1."
  }
}

variable "controller_resources" {
  type = object({
    requests = optional(map(string), { cpu = "200m", memory = "256Mi" })
    limits   = optional(map(string), { memory = "512Mi" })
  })
  description = "Resources of the controller container."
  default     = {}
}

variable "controller_policy" {
  type        = string
  description = "Scaling policy of deployments that name none (WARMGATE_POLICY)."
  default     = "predictive"

  validation {
    condition     = contains(["predictive", "reactive", "keepalive", "histogram", "costaware", "tuned"], var.controller_policy)
    error_message = "controller_policy must be predictive, reactive, keepalive, histogram, costaware or tuned."
  }
}

variable "controller_scale_to_zero" {
  type        = bool
  description = "Whether an idle deployment with minInstances 0 may scale to zero (WARMGATE_SCALE_TO_ZERO)."
  default     = true
}

variable "controller_env" {
  type        = map(string)
  description = "More controller settings, as variables of warmpool/config/controller-environment.ts (e.g. WARMGATE_TICK_MS = \"250\")."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.controller_env) : can(regex("^(WARMGATE|OTEL)_[A-Z0-9_]+$", k))])
    error_message = "controller_env keys must be WARMGATE_* or OTEL_* variables of the controller's environment schema."
  }
}

# --- runtime pods (made by the controller) ---------------------------------------------------------

variable "runtime_namespace" {
  type        = string
  description = "Namespace the controller creates runtime pods in. Null: the module's namespace. It must exist."
  default     = null

  validation {
    condition     = var.runtime_namespace == null || can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.runtime_namespace))
    error_message = "runtime_namespace must be a DNS-1123 label."
  }
}

variable "runtime_image" {
  type        = string
  description = "Image of runtime pods. Null: var.image (it holds the runtime and the demo models)."
  default     = null
}

variable "runtime_gpus" {
  type        = number
  description = "nvidia.com/gpu each runtime pod requests and is limited to (0: CPU pods)."
  default     = 0

  validation {
    condition     = var.runtime_gpus >= 0 && floor(var.runtime_gpus) == var.runtime_gpus
    error_message = "runtime_gpus must be a whole number >= 0."
  }
}

variable "runtime_node_selector" {
  type        = map(string)
  description = "Node selector of runtime pods, e.g. { \"nvidia.com/gpu.present\" = \"true\" }."
  default     = {}
}

variable "runtime_tolerations" {
  type = list(object({
    key                = optional(string)
    operator           = optional(string, "Equal")
    value              = optional(string)
    effect             = optional(string)
    toleration_seconds = optional(number)
  }))
  description = "Tolerations of runtime pods, e.g. [{ key = \"nvidia.com/gpu\", operator = \"Exists\", effect = \"NoSchedule\" }]."
  default     = []

  validation {
    condition = alltrue([
      for t in var.runtime_tolerations :
      contains(["Equal", "Exists"], t.operator) &&
      (t.effect == null ? true : contains(["NoSchedule", "PreferNoSchedule", "NoExecute"], t.effect)) &&
      (t.operator == "Exists" ? true : t.key != null)
    ])
    error_message = "each runtime toleration needs operator Equal (with a key) or Exists, and effect NoSchedule, PreferNoSchedule, NoExecute or null."
  }
}

variable "runtime_model_claim" {
  type        = string
  description = "PersistentVolumeClaim (in the runtime namespace) with model folders, mounted read-only in runtime pods at runtime_model_mount. Null: models come from the image."
  default     = null
}

variable "runtime_model_mount" {
  type        = string
  description = "Where runtime_model_claim is mounted in runtime pods; deployment model paths are under it."
  default     = "/models"

  validation {
    condition     = startswith(var.runtime_model_mount, "/")
    error_message = "runtime_model_mount must be an absolute path."
  }
}

# --- Redis -----------------------------------------------------------------------------------------

variable "redis_image" {
  type        = string
  description = "The official Redis image."
  default     = "redis:7.4-alpine"
}

variable "redis_password" {
  type        = string
  description = "Redis password (requirepass). Null: a random one."
  default     = null
  sensitive   = true

  validation {
    condition     = var.redis_password == null || try(length(var.redis_password) >= 16, false)
    error_message = "redis_password must be at least 16 characters."
  }
}

variable "redis_storage_size" {
  type        = string
  description = "Size of Redis's PersistentVolumeClaim (append-only file)."
  default     = "8Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|Ti)$", var.redis_storage_size))
    error_message = "redis_storage_size must be a quantity such as 512Mi, 8Gi or 1Ti."
  }
}

variable "redis_storage_class" {
  type        = string
  description = "StorageClass of Redis's volume. Null: the cluster's default."
  default     = null
}

variable "redis_resources" {
  type = object({
    requests = optional(map(string), { cpu = "100m", memory = "256Mi" })
    limits   = optional(map(string), { memory = "1Gi" })
  })
  description = "Resources of the Redis container."
  default     = {}
}

# --- telemetry -------------------------------------------------------------------------------------

variable "otel_collector_chart_version" {
  type        = string
  description = "Version of the open-telemetry/opentelemetry-collector Helm chart."
  default     = "0.182.0"
}

variable "otel_traces_endpoint" {
  type        = string
  description = "OTLP/HTTP endpoint the collector forwards traces to (Tempo, Jaeger, a vendor), e.g. http://tempo.monitoring:4318. Null: the collector's debug exporter (its log)."
  default     = null

  validation {
    condition     = var.otel_traces_endpoint == null || can(regex("^https?://", var.otel_traces_endpoint))
    error_message = "otel_traces_endpoint must be an http:// or https:// URL."
  }
}

variable "service_monitor" {
  type        = bool
  description = "Also create Prometheus Operator ServiceMonitors (the CRD must exist). Pods carry prometheus.io/* scrape annotations either way."
  default     = false
}

variable "service_monitor_labels" {
  type        = map(string)
  description = "Labels the Prometheus Operator selects ServiceMonitors by (e.g. { release = \"kube-prometheus-stack\" })."
  default     = {}
}

variable "grafana_dashboards" {
  type        = bool
  description = "Also create a ConfigMap with the warmgate Grafana dashboard, labelled grafana_dashboard = \"1\" for Grafana's dashboard sidecar."
  default     = false
}

variable "grafana_dashboards_namespace" {
  type        = string
  description = "Namespace the dashboard ConfigMap goes to (the one Grafana's sidecar watches). Null: the module's namespace."
  default     = null
}

variable "grafana_dashboards_folder" {
  type        = string
  description = "Grafana folder for the dashboard (the sidecar's grafana_folder annotation). Null: the sidecar's default folder."
  default     = null
}
