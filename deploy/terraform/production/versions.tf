terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.4, < 7.0" # ECS-native blue/green (deployment_configuration.strategy)
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
  }
  # State in S3 with locking; the bucket and key come from backend.hcl (RUNBOOK.md).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
