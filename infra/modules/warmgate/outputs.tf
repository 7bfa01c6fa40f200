output "namespace" {
  description = "Namespace of the gateway, the controller, Redis and the collector."
  value       = local.namespace
}

output "gateway_url" {
  description = "Base URL of the gateway: the load balancer's address when gateway_service_type is LoadBalancer, else the in-cluster address (reach it with kubectl port-forward svc/warmgate-gateway 8080:80)."
  value = (
    var.gateway_service_type == "LoadBalancer"
    ? format("http://%s", try(
      coalesce(
        kubernetes_service_v1.gateway.status[0].load_balancer[0].ingress[0].hostname,
        kubernetes_service_v1.gateway.status[0].load_balancer[0].ingress[0].ip,
      ),
      "${kubernetes_service_v1.gateway.metadata[0].name}.${local.namespace}.svc.cluster.local",
    ))
    : "http://${kubernetes_service_v1.gateway.metadata[0].name}.${local.namespace}.svc.cluster.local"
  )
}

output "gateway_service" {
  description = "Name of the gateway Service (port 80)."
  value       = kubernetes_service_v1.gateway.metadata[0].name
}

output "otlp_endpoint" {
  description = "The collector's OTLP/HTTP endpoint inside the cluster (OTEL_EXPORTER_OTLP_ENDPOINT of every component)."
  value       = local.otlp_endpoint
}

output "admin_token" {
  description = "Bearer token of the admin API (/admin/v1)."
  value       = local.admin_token
  sensitive   = true
}

output "redis_url" {
  description = "Redis URL with its password, as the gateway and controller get it."
  value       = local.redis_url
  sensitive   = true
}
