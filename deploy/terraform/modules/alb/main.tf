# The public entry: an Application Load Balancer over HTTPS (ACM), WebSocket-friendly.
#
# Two ports of the node behind it, each with a blue and a green target group for ECS's
# native blue/green deployments: `/ws` goes to the WebSocket gateway (8765), everything
# else to the REST sidecar (8080). Production traffic comes through listener rules on 443;
# the test listener (8443, open only to `test_cidrs`) reaches the green tasks before the
# switch. Health checks ask `/ready`; the deregistration delay equals the node's drain
# (CONTRACT §1: 30 s), so the balancer and the node give up on a connection together.

locals {
  drain_seconds = 30
  ports         = { ws = 8765, rest = 8080 }
  colours       = ["blue", "green"]
  target_groups = { for pair in setproduct(keys(local.ports), local.colours) : "${pair[0]}-${pair[1]}" => { port = local.ports[pair[0]], face = pair[0] } }
}

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "bidserver load balancer"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.alb.id
  description       = "bidders and REST clients"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "http_redirect" {
  #checkov:skip=CKV_AWS_260:port 80 answers only a 301 to HTTPS (aws_lb_listener.http); closing it breaks typed-in URLs
  security_group_id = aws_security_group.alb.id
  description       = "plain HTTP, answered only with a redirect to HTTPS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_ingress_rule" "test" {
  for_each          = toset(var.test_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "blue/green test listener, for the deploy pipeline only"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 8443
  to_port           = 8443
}

resource "aws_vpc_security_group_egress_rule" "to_tasks" {
  for_each          = local.ports
  security_group_id = aws_security_group.alb.id
  description       = "to the tasks' ${each.key} port"
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = each.value
  to_port           = each.value
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_20:port 80 only redirects to HTTPS (aws_lb_listener.http)
  #checkov:skip=CKV2_AWS_28:the WAF is attached by modules/waf (aws_wafv2_web_acl_association), which checkov does not follow across modules
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false #tfsec:ignore:aws-elb-alb-not-public
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  idle_timeout               = 300 # WebSockets ping every 20 s; an idle REST client is cut after 5 min
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the balancer; balancer-to-task traffic stays inside private subnets, and the node serves plain HTTP/WebSocket
  for_each             = local.target_groups
  name                 = "${var.name}-${each.key}"
  port                 = each.value.port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = local.drain_seconds
  health_check {
    path                = "/ready"
    port                = "traffic-port"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  for_each          = { production = 443, test = 8443 }
  load_balancer_arn = aws_lb.this.arn
  port              = each.value
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route\"}}"
      status_code  = "404"
    }
  }
}

# One rule per face and listener, forwarding to the blue/green pair. ECS moves the weights
# during a deployment, so Terraform leaves the action alone after creating it.
resource "aws_lb_listener_rule" "this" {
  for_each     = { for pair in setproduct(keys(aws_lb_listener.https), keys(local.ports)) : "${pair[0]}-${pair[1]}" => { listener = pair[0], face = pair[1] } }
  listener_arn = aws_lb_listener.https[each.value.listener].arn
  priority     = each.value.face == "ws" ? 10 : 20
  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.this["${each.value.face}-blue"].arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.this["${each.value.face}-green"].arn
        weight = 0
      }
    }
  }
  condition {
    path_pattern {
      values = each.value.face == "ws" ? ["/ws", "/ws/*"] : ["/*"]
    }
  }
  lifecycle {
    ignore_changes = [action]
  }
}

# The environment's log bucket: ALB access logs (the balancer can only write them with
# S3-managed keys), the photo bucket's S3 access logs and CloudFront's standard logs.
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_145:ALB access logs support only SSE-S3, not KMS
  #checkov:skip=CKV_AWS_144:access logs are not worth a second region
  #checkov:skip=CKV_AWS_18:this is the log bucket; logging it would recurse
  #checkov:skip=CKV2_AWS_62:nothing reacts to new log objects
  bucket_prefix = "${var.name}-alb-logs-"
  force_destroy = !var.deletion_protection
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = 90
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_elb_service_account" "this" {}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.this.arn }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/alb/*"
      },
      {
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/s3/*"
      },
      {
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

# CloudFront's standard logs (photos) are delivered with ACLs, so this bucket keeps them.
resource "aws_s3_bucket_ownership_controls" "logs" {
  #checkov:skip=CKV2_AWS_65:CloudFront standard logging delivers with ACLs; the bucket blocks all public ACLs
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}
