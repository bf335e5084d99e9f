output "url" {
  value = "https://${var.domain_name}"
}

output "alb_dns_name" {
  description = "point the domain's DNS (an alias record) here"
  value       = module.alb.dns_name
}

output "photos_url" {
  value = module.photos.url
}

output "ecs_cluster" {
  value = module.ecs.cluster_name
}

output "ecs_service" {
  value = module.ecs.service_name
}

output "task_definition_family" {
  value = module.ecs.task_definition_family
}

output "dashboard" {
  value = "https://${var.region}.console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards:name=${local.name}"
}
