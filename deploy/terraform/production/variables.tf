variable "region" {
  type    = string
  default = "us-east-1"
}

variable "image" {
  description = "bidserver image by digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/bidserver@sha256:…"
  type        = string
  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "Deploy images by digest, never by tag."
  }
}

variable "domain_name" {
  description = "the public host name bidders use (its ACM certificate is certificate_arn)"
  type        = string
}

variable "certificate_arn" {
  type = string
}

variable "photos_domain_name" {
  type    = string
  default = null
}

variable "photos_certificate_arn_us_east_1" {
  type = string
}

variable "test_cidrs" {
  description = "egress addresses of the deploy runners, for the blue/green test listener"
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  type    = list(string)
  default = []
}
