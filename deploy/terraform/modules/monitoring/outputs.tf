output "topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  value = concat(
    [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.unhealthy : alarm.alarm_name],
  )
}
