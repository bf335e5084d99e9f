output "kms_key_arn" {
  value = aws_kms_key.this.arn
}

output "secret_arns" {
  value = { for name, secret in aws_secretsmanager_secret.this : name => secret.arn }
}

output "database_password" {
  value     = random_password.database.result
  sensitive = true
}

output "redis_auth_token" {
  value     = random_password.redis.result
  sensitive = true
}
