# Alarms and a dashboard for one environment. Alarms notify an SNS topic; those listed in
# `rollback_alarm_names` also roll a blue/green deployment back while it bakes.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  alb = { LoadBalancer = var.alb_arn_suffix }
  alarms = {
    alb-5xx = {
      namespace   = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", stat = "Sum",
      dimensions  = local.alb, comparison = "GreaterThanThreshold", threshold = 10, periods = 2,
      description = "tasks answered more than 10 5xx a minute for 2 minutes"
    }
    alb-p99-latency = {
      namespace   = "AWS/ApplicationELB", metric = "TargetResponseTime", stat = "p99",
      dimensions  = local.alb, comparison = "GreaterThanThreshold", threshold = 1, periods = 3,
      description = "REST p99 above 1 s for 3 minutes"
    }
    rds-cpu = {
      namespace  = "AWS/RDS", metric = "CPUUtilization", stat = "Average",
      dimensions = { DBInstanceIdentifier = var.db_identifier }, comparison = "GreaterThanThreshold",
      threshold  = 80, periods = 5, description = "database CPU above 80 % for 5 minutes"
    }
    rds-free-storage = {
      namespace  = "AWS/RDS", metric = "FreeStorageSpace", stat = "Minimum",
      dimensions = { DBInstanceIdentifier = var.db_identifier }, comparison = "LessThanThreshold",
      threshold  = 10 * 1024 * 1024 * 1024, periods = 1, description = "less than 10 GiB of database storage left"
    }
    redis-memory = {
      namespace  = "AWS/ElastiCache", metric = "DatabaseMemoryUsagePercentage", stat = "Maximum",
      dimensions = { ReplicationGroupId = var.redis_replication_group_id }, comparison = "GreaterThanThreshold",
      threshold  = 80, periods = 5, description = "Redis memory above 80 %"
    }
    fenced-writes = {
      namespace   = "bidserver", metric = "bidserver_persist_fenced_total", stat = "Sum",
      dimensions  = { ClusterName = var.ecs_cluster_name }, comparison = "GreaterThanThreshold",
      threshold   = 0, periods = 5,
      description = "writes refused by the epoch fence for 5 minutes running: nodes disagree on ownership (split brain, clock or Redis trouble)"
    }
  }
  unhealthy = { for key, suffix in var.target_group_arn_suffixes : "unhealthy-${key}" => suffix }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = startswith(each.value.stat, "p") ? null : each.value.stat
  extended_statistic  = startswith(each.value.stat, "p") ? each.value.stat : null
  period              = 60
  evaluation_periods  = each.value.periods
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "replica_lag" {
  count               = var.db_replica_identifier == null ? 0 : 1
  alarm_name          = "${var.name}-rds-replica-lag"
  alarm_description   = "read replica more than 30 s behind for 5 minutes"
  namespace           = "AWS/RDS"
  metric_name         = "ReplicaLag"
  dimensions          = { DBInstanceIdentifier = var.db_replica_identifier }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = 30
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "unhealthy" {
  for_each            = local.unhealthy
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "a task behind ${each.key} fails /ready for 2 minutes"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

locals {
  panels = [
    {
      title = "Requests and 5xx"
      metrics = [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix, { stat = "Sum" }],
        [".", "HTTPCode_Target_5XX_Count", ".", ".", { stat = "Sum" }],
      ]
    },
    {
      title = "REST latency p50 / p99 (s)"
      metrics = [
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.alb_arn_suffix, { stat = "p50" }],
        ["...", { stat = "p99" }],
      ]
    },
    {
      title = "WebSocket connections and live auctions"
      metrics = [
        ["bidserver", "bidserver_ws_connections", "ClusterName", var.ecs_cluster_name, { stat = "Sum" }],
        [".", "bidserver_live_actors", ".", ".", { stat = "Sum" }],
      ]
    },
    {
      title = "Fenced and failed writes"
      metrics = [
        ["bidserver", "bidserver_persist_fenced_total", "ClusterName", var.ecs_cluster_name, { stat = "Sum" }],
        [".", "bidserver_persist_failures_total", ".", ".", { stat = "Sum" }],
      ]
    },
    {
      title = "Tasks CPU / memory (%)"
      metrics = [
        ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name],
        [".", "MemoryUtilization", ".", ".", ".", "."],
      ]
    },
    {
      title = "Database and Redis"
      metrics = [
        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_identifier],
        [".", "DatabaseConnections", ".", "."],
        ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "ReplicationGroupId", var.redis_replication_group_id],
      ]
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [for i, panel in local.panels : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = floor(i / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = panel.title
        region  = var.region
        period  = 60
        view    = "timeSeries"
        metrics = panel.metrics
      }
    }]
  })
}
