output "arn" {
  value = aws_lb.this.arn
}

output "arn_suffix" {
  value = aws_lb.this.arn_suffix
}

output "dns_name" {
  value = aws_lb.this.dns_name
}

output "zone_id" {
  value = aws_lb.this.zone_id
}

output "security_group_id" {
  value = aws_security_group.alb.id
}

output "target_group_arns" {
  description = "by face and colour: ws-blue, ws-green, rest-blue, rest-green"
  value       = { for key, tg in aws_lb_target_group.this : key => tg.arn }
}

output "target_group_arn_suffixes" {
  value = { for key, tg in aws_lb_target_group.this : key => tg.arn_suffix }
}

output "listener_rule_arns" {
  description = "by listener and face: production-ws, production-rest, test-ws, test-rest"
  value       = { for key, rule in aws_lb_listener_rule.this : key => rule.arn }
}

output "drain_seconds" {
  value = local.drain_seconds
}

output "log_bucket" {
  value = aws_s3_bucket.logs.id
}
