variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "database_host" {
  type    = string
  default = null
}

variable "database_user" {
  type    = string
  default = "bidserver"
}

variable "database_name" {
  type    = string
  default = "bidserver"
}

variable "redis_host" {
  type    = string
  default = null
}
