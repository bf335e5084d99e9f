# The environment's customer-managed KMS key and the node's secrets in Secrets Manager.
#
# Every secret is generated here and read by the tasks at start (ECS `secrets`), never
# written to a task definition or an image. The JWT and cluster secrets are CONTRACT §1/§7
# settings; the database and Redis URLs carry their passwords. Rotation is a runbook
# procedure (deploy/RUNBOOK.md): a rotated secret reaches the tasks at their next start,
# which is a deployment, and the JWT key is rotated without logging anyone out.

data "aws_caller_identity" "this" {}

resource "aws_kms_key" "this" {
  description             = "${var.name}: RDS, ElastiCache, S3 photos, logs, secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.this.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncrypt"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:${var.region}:${data.aws_caller_identity.this.account_id}:*" } }
      },
      {
        Sid       = "CloudFrontReadsPhotos"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = ["kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.this.account_id } }
      },
    ]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "random_password" "jwt" {
  length  = 64
  special = false
}

resource "random_password" "cluster" {
  length  = 64
  special = false
}

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "random_password" "redis" {
  length  = 64
  special = false # ElastiCache AUTH tokens allow only some symbols
}

locals {
  values = {
    BIDSERVER_JWT_SECRET     = random_password.jwt.result
    BIDSERVER_CLUSTER_SECRET = random_password.cluster.result
    BIDSERVER_DATABASE_URL   = var.database_host == null ? "" : "postgresql://${var.database_user}:${random_password.database.result}@${var.database_host}:5432/${var.database_name}?sslmode=require"
    BIDSERVER_REDIS_URL      = var.redis_host == null ? "" : "rediss://:${random_password.redis.result}@${var.redis_host}:6379/0"
  }
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:rotated by the runbook's procedure, not a Lambda: tasks read secrets only at start, and the JWT key needs an overlap window (deploy/RUNBOOK.md)
  for_each                = local.values
  name                    = "${var.name}/${lower(replace(each.key, "BIDSERVER_", ""))}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each      = local.values
  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = each.value
  lifecycle {
    ignore_changes = [secret_string] # rotated outside Terraform (runbook)
  }
}
