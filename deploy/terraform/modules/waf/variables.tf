variable "name" {
  type = string
}

variable "alb_arn" {
  type = string
}

variable "kms_key_arn" {
  type = string
}
