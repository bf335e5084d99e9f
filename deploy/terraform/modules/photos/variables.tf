variable "name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "log_bucket" {
  description = "bucket for S3 server access logs and CloudFront standard logs"
  type        = string
}

variable "domain_name" {
  description = "photos host name (e.g. photos.example.com), or null for the CloudFront name"
  type        = string
  default     = null
}

variable "certificate_arn_us_east_1" {
  description = "ACM certificate for domain_name; CloudFront reads certificates from us-east-1 only"
  type        = string
}

variable "deletion_protection" {
  type = bool
}
