# The bidserver service on ECS Fargate.
#
# Every task is one cluster node (CONTRACT §7): it joins the others through Redis and
# PostgreSQL, and reaches its peers on the cluster port, open only between tasks. Its own
# address (BIDSERVER_ADVERTISE_HOST) comes from the ECS task metadata endpoint at start
# (the image's entry point, bidserver/container.py). Secrets come from Secrets Manager.
#
# Deployments are ECS-native blue/green (see deploy/BLUE-GREEN.md for why not CodeDeploy):
# green tasks start beside blue, join the same cluster and take shards over through the
# handoff of §7; the test listener reaches them first; after the bake time with no alarm
# the production rules point at green and blue tasks get SIGTERM and drain. A failing
# deployment (circuit breaker or any rollback alarm) goes back to blue.

locals {
  ports = { ws = 8765, rest = 8080, cluster = 8766 }
  # CONTRACT §1: SIGTERM drains within 30 s. ECS waits this long before SIGKILL.
  stop_timeout = 45
  environment = merge({
    BIDSERVER_HOST            = "0.0.0.0"
    BIDSERVER_WS_PORT         = tostring(local.ports.ws)
    BIDSERVER_HTTP_PORT       = tostring(local.ports.rest)
    BIDSERVER_CLUSTER_PORT    = tostring(local.ports.cluster)
    BIDSERVER_LEASE_MS        = "2000"
    BIDSERVER_ALLOWED_ORIGINS = join(",", var.allowed_origins)
    BIDSERVER_TRUSTED_PROXIES = var.vpc_cidr
    BIDSERVER_MEDIA_BUCKET    = var.media_bucket
    BIDSERVER_MEDIA_URL       = var.media_url
    AWS_DEFAULT_REGION        = var.region # the S3 adapter's SDK reads this one
    BIDSERVER_LOG_LEVEL       = "info"
    BIDSERVER_ACK_MODE        = "durable"
  }, var.extra_environment)
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enhanced"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/bidserver/${var.name}/app"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    # The only writable place (the root file system is read-only): the image declares
    # VOLUME /var/lib/bidserver owned by its user, which Fargate copies into this mount.
    name = "data"
  }
  container_definitions = jsonencode([
    {
      name                   = "bidserver"
      image                  = var.image
      essential              = true
      readonlyRootFilesystem = true
      user                   = "10001:10001"
      stopTimeout            = local.stop_timeout
      portMappings = [for face, port in local.ports : {
        name          = face
        containerPort = port
        protocol      = "tcp"
      }]
      environment = [for k, v in local.environment : { name = k, value = v }]
      secrets     = [for k, arn in var.secret_arns : { name = k, valueFrom = arn }]
      mountPoints = [
        { sourceVolume = "data", containerPath = "/var/lib/bidserver", readOnly = false },
      ]
      healthCheck = {
        command     = ["CMD", "python", "-m", "bidserver.healthcheck"]
        interval    = 10
        timeout     = 3
        retries     = 3
        startPeriod = 45
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "node"
          mode                  = "non-blocking"
          max-buffer-size       = "4m"
        }
      }
    },
    {
      # Scrapes the node's /metrics (Prometheus) into CloudWatch, for the alarms on
      # bidserver's own metrics (fenced writes, ack latency) and the dashboard.
      name                   = "metrics"
      image                  = var.cloudwatch_agent_image
      essential              = false
      readonlyRootFilesystem = false
      environment = [
        { name = "CW_CONFIG_CONTENT", value = jsonencode(local.agent_config) },
        { name = "PROMETHEUS_CONFIG_CONTENT", value = local.prometheus_config },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "metrics"
        }
      }
    },
  ])
}

locals {
  prometheus_config = yamlencode({
    global = { scrape_interval = "30s", scrape_timeout = "10s" }
    scrape_configs = [{
      job_name       = "bidserver"
      static_configs = [{ targets = ["localhost:${local.ports.rest}"] }]
    }]
  })
  agent_config = {
    logs = {
      metrics_collected = {
        prometheus = {
          prometheus_config_path = "env:PROMETHEUS_CONFIG_CONTENT"
          emf_processor = {
            metric_namespace = "bidserver"
            metric_declaration = [{
              source_labels    = ["job"]
              label_matcher    = "^bidserver$"
              dimensions       = [["ClusterName"]]
              metric_selectors = ["^bidserver_persist_fenced_total$", "^bidserver_persist_failures_total$", "^bidserver_ws_connections$", "^bidserver_live_actors$", "^bidserver_bids_total$", "^bidserver_slow_consumer_disconnects_total$"]
            }]
          }
        }
      }
    }
  }
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.min_tasks
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  network_configuration {
    subnets          = var.app_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  deployment_configuration {
    strategy             = "BLUE_GREEN"
    bake_time_in_minutes = var.bake_time_minutes
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  alarms {
    enable      = true
    rollback    = true
    alarm_names = var.rollback_alarm_names
  }

  dynamic "load_balancer" {
    for_each = { ws = local.ports.ws, rest = local.ports.rest }
    content {
      target_group_arn = var.target_group_arns["${load_balancer.key}-blue"]
      container_name   = "bidserver"
      container_port   = load_balancer.value
      advanced_configuration {
        alternate_target_group_arn = var.target_group_arns["${load_balancer.key}-green"]
        production_listener_rule   = var.listener_rule_arns["production-${load_balancer.key}"]
        test_listener_rule         = var.listener_rule_arns["test-${load_balancer.key}"]
        role_arn                   = aws_iam_role.blue_green.arn
      }
    }
  }

  lifecycle {
    # Autoscaling owns the count; the deploy pipeline owns the task definition revision.
    ignore_changes = [desired_count, task_definition]
  }
}

# --- security groups: the cluster port only between tasks -------------------------------

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "bidserver tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  for_each                     = { ws = local.ports.ws, rest = local.ports.rest }
  security_group_id            = aws_security_group.tasks.id
  description                  = "${each.key} from the load balancer"
  referenced_security_group_id = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
}

resource "aws_vpc_security_group_ingress_rule" "cluster" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "node-to-node links, from other tasks only"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = local.ports.cluster
  to_port                      = local.ports.cluster
}

resource "aws_vpc_security_group_egress_rule" "cluster" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "node-to-node links, to other tasks only"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = local.ports.cluster
  to_port                      = local.ports.cluster
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.tasks.id
  description       = "AWS APIs: ECR, Secrets Manager, S3, CloudWatch (through NAT or endpoints)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "data" {
  for_each          = { postgres = 5432, redis = 6379 }
  security_group_id = aws_security_group.tasks.id
  description       = "${each.key} in the data subnets"
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = each.value
  to_port           = each.value
}

# --- autoscaling on CPU and on connections per task -------------------------------------

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_in_cooldown  = 300 # scale in slowly: every removed task hands its auctions over
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "connections" {
  name               = "${var.name}-connections"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value       = var.connections_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    customized_metric_specification {
      metric_name = "bidserver_ws_connections"
      namespace   = "bidserver"
      statistic   = "Average"
      dimensions {
        name  = "ClusterName"
        value = aws_ecs_cluster.this.name
      }
    }
  }
}
