variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for the public host name, in the balancer's region"
  type        = string
}

variable "test_cidrs" {
  description = "who may reach the blue/green test listener (the deploy runners' egress)"
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  type = bool
}
