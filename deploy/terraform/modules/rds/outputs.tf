output "identifier" {
  value = aws_db_instance.this.identifier
}

output "replica_identifier" {
  value = var.read_replica ? aws_db_instance.replica[0].identifier : null
}

output "address" {
  value = aws_db_instance.this.address
}

output "port" {
  value = aws_db_instance.this.port
}

output "database" {
  value = aws_db_instance.this.db_name
}

output "username" {
  value = aws_db_instance.this.username
}
