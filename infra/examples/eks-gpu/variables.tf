variable "region" {
  type        = string
  description = "AWS region."
  default     = "us-east-1"
}

variable "cluster_name" {
  type        = string
  description = "Name of the EKS cluster (and its VPC)."
  default     = "warmgate"
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes version of the cluster."
  default     = "1.33"
}

variable "system_instance_type" {
  type        = string
  description = "Instance type of the CPU node group (gateway, controller, Redis, collector)."
  default     = "m6i.large"
}

variable "gpu_instance_type" {
  type        = string
  description = "Instance type of the GPU node group (runtime pods), e.g. g5.xlarge (one A10G) or g6.xlarge (one L4)."
  default     = "g5.xlarge"
}

variable "gpu_nodes" {
  type = object({
    min     = number
    max     = number
    desired = number
  })
  description = "Size of the GPU node group. The warm-pool controller creates pods; a cluster autoscaler or Karpenter (not installed here) would add nodes for them."
  default     = { min = 1, max = 4, desired = 1 }

  validation {
    condition     = var.gpu_nodes.min <= var.gpu_nodes.desired && var.gpu_nodes.desired <= var.gpu_nodes.max
    error_message = "gpu_nodes needs min <= desired <= max."
  }
}

variable "nvidia_device_plugin_version" {
  type        = string
  description = "Version of NVIDIA's k8s-device-plugin Helm chart."
  default     = "0.18.2"
}

variable "image" {
  type        = string
  description = "The warmgate image, e.g. <account>.dkr.ecr.<region>.amazonaws.com/warmgate:0.1.0 (nodes pull from ECR in their account)."
}

variable "runtime_gpus" {
  type        = number
  description = "nvidia.com/gpu per runtime pod."
  default     = 1
}

variable "public_gateway" {
  type        = bool
  description = "An internet-facing load balancer for the gateway (false: internal to the VPC)."
  default     = false
}

variable "otel_traces_endpoint" {
  type        = string
  description = "OTLP/HTTP endpoint the collector forwards traces to (null: the collector's log)."
  default     = null
}
