# warmgate on a cluster you already have, reached through a kubeconfig.

provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context
}

provider "helm" {
  kubernetes = {
    config_path    = var.kubeconfig
    config_context = var.kube_context
  }
}

module "warmgate" {
  source = "../../modules/warmgate"

  namespace            = var.namespace
  image                = var.image
  image_pull_secrets   = var.image_pull_secrets
  gateway_service_type = var.gateway_service_type
  gateway_autoscaling  = var.gateway_autoscaling
  controller_replicas  = var.controller_replicas

  runtime_gpus          = var.runtime_gpus
  runtime_node_selector = var.runtime_node_selector
  runtime_tolerations   = var.runtime_tolerations
  runtime_model_claim   = var.runtime_model_claim

  redis_storage_class  = var.redis_storage_class
  otel_traces_endpoint = var.otel_traces_endpoint
  service_monitor      = var.service_monitor
}
