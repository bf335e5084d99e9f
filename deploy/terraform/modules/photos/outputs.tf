output "bucket" {
  value = aws_s3_bucket.photos.id
}

output "bucket_arn" {
  value = aws_s3_bucket.photos.arn
}

output "url" {
  value = "https://${coalesce(var.domain_name, aws_cloudfront_distribution.photos.domain_name)}"
}

output "distribution_id" {
  value = aws_cloudfront_distribution.photos.id
}
