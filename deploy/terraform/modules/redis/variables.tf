variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "data_subnet_ids" {
  type = list(string)
}

variable "tasks_security_group_id" {
  type = string
}

variable "node_type" {
  type = string
}

variable "auth_token" {
  type      = string
  sensitive = true
}

variable "kms_key_arn" {
  type = string
}
