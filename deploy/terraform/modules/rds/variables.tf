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

variable "instance_class" {
  type = string
}

variable "storage_gb" {
  type = number
}

variable "password" {
  type      = string
  sensitive = true
}

variable "deletion_protection" {
  type = bool
}

variable "read_replica" {
  type = bool
}

variable "kms_key_arn" {
  type = string
}
