output "gateway_url" {
  description = "Base URL of the gateway."
  value       = module.warmgate.gateway_url
}

output "otlp_endpoint" {
  description = "The collector's OTLP/HTTP endpoint inside the cluster."
  value       = module.warmgate.otlp_endpoint
}

output "namespace" {
  description = "Namespace of warmgate."
  value       = module.warmgate.namespace
}

output "admin_token" {
  description = "Bearer token of the admin API: terraform output -raw admin_token."
  value       = module.warmgate.admin_token
  sensitive   = true
}
