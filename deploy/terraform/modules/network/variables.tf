variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "cidr" {
  type    = string
  default = "10.40.0.0/16"
}

variable "nat_gateways" {
  description = "1 (staging: cheaper) or 3 (production: one per zone, survives a zone loss)"
  type        = number
  validation {
    condition     = contains([1, 3], var.nat_gateways)
    error_message = "nat_gateways must be 1 or 3."
  }
}

variable "kms_key_arn" {
  type = string
}
