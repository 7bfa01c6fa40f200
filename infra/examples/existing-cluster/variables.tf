variable "kubeconfig" {
  type        = string
  description = "Path of the kubeconfig file."
  default     = "~/.kube/config"
}

variable "kube_context" {
  type        = string
  description = "Context of the kubeconfig to deploy to. Null: its current context."
  default     = null
}

variable "namespace" {
  type        = string
  description = "Namespace warmgate is installed in (created)."
  default     = "warmgate"
}

variable "image" {
  type        = string
  description = "The warmgate image built from infra/docker/Dockerfile and pushed where the cluster can pull it, e.g. ghcr.io/acme/warmgate:0.1.0."
}

variable "image_pull_secrets" {
  type        = list(string)
  description = "Existing Secrets in the namespace to pull the image with."
  default     = []
}

variable "gateway_service_type" {
  type        = string
  description = "ClusterIP (port-forward or your Ingress), LoadBalancer or NodePort."
  default     = "ClusterIP"
}

variable "gateway_autoscaling" {
  type = object({
    enabled                    = optional(bool, true)
    min_replicas               = optional(number, 2)
    max_replicas               = optional(number, 10)
    target_cpu_utilization_pct = optional(number, 70)
  })
  description = "Autoscaling of the gateway on CPU."
  default     = {}
}

variable "controller_replicas" {
  type        = number
  description = "Controller replicas (one leads through Redis)."
  default     = 2
}

variable "runtime_gpus" {
  type        = number
  description = "nvidia.com/gpu per runtime pod (0: CPU)."
  default     = 0
}

variable "runtime_node_selector" {
  type        = map(string)
  description = "Node selector of runtime pods."
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
  description = "Tolerations of runtime pods."
  default     = []
}

variable "runtime_model_claim" {
  type        = string
  description = "PersistentVolumeClaim with model folders (null: the models in the image)."
  default     = null
}

variable "redis_storage_class" {
  type        = string
  description = "StorageClass of Redis's volume (null: the cluster's default)."
  default     = null
}

variable "otel_traces_endpoint" {
  type        = string
  description = "OTLP/HTTP endpoint the collector forwards traces to (null: the collector's log)."
  default     = null
}

variable "service_monitor" {
  type        = bool
  description = "Create Prometheus Operator ServiceMonitors (needs the CRD)."
  default     = false
}
