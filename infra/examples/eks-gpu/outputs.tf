output "gateway_url" {
  description = "The gateway's load balancer."
  value       = module.warmgate.gateway_url
}

output "otlp_endpoint" {
  description = "The collector's OTLP/HTTP endpoint inside the cluster."
  value       = module.warmgate.otlp_endpoint
}

output "admin_token" {
  description = "Bearer token of the admin API: terraform output -raw admin_token."
  value       = module.warmgate.admin_token
  sensitive   = true
}

output "configure_kubectl" {
  description = "Points kubectl at the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}
