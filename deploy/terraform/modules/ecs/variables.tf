variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "image" {
  description = "the image by digest (repository@sha256:…), as deploy.yml pushes it"
  type        = string
}

variable "cloudwatch_agent_image" {
  type    = string
  default = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300051.0b992"
}

variable "cpu" {
  type = number
}

variable "memory" {
  type = number
}

variable "min_tasks" {
  type = number
}

variable "max_tasks" {
  type = number
}

variable "connections_per_task" {
  description = "WebSocket connections per task that autoscaling aims at"
  type        = number
  default     = 5000
}

variable "bake_time_minutes" {
  description = "how long green serves production with blue still standing by"
  type        = number
}

variable "rollback_alarm_names" {
  type = list(string)
}

variable "vpc_id" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "app_subnet_ids" {
  type = list(string)
}

variable "alb_security_group_id" {
  type = string
}

variable "target_group_arns" {
  type = map(string)
}

variable "listener_rule_arns" {
  type = map(string)
}

variable "secret_arns" {
  description = "environment variable name => Secrets Manager secret ARN"
  type        = map(string)
}

variable "allowed_origins" {
  type = list(string)
}

variable "media_bucket" {
  type = string
}

variable "media_bucket_arn" {
  type = string
}

variable "media_url" {
  type = string
}

variable "extra_environment" {
  type    = map(string)
  default = {}
}

variable "kms_key_arn" {
  type = string
}
