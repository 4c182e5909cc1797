# Alarms to the alert topic: the function failed, an event could not be
# evaluated at all (it is in a dead-letter queue), the sweep queue is not being
# drained, or a sweep ended incomplete or with errors.

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  alarm_name        = "${var.name}-function-errors"
  alarm_description = "The ${var.name} function failed at least once (it retries, then sends the event to ${aws_sqs_queue.dlq.name}). See the log group ${local.log_group_name}."
  namespace         = "AWS/Lambda"
  metric_name       = "Errors"
  dimensions = {
    FunctionName = aws_lambda_function.gate.function_name
  }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_messages" {
  alarm_name        = "${var.name}-dead-letter-messages"
  alarm_description = "Events that ${var.name} could not evaluate are waiting in ${aws_sqs_queue.dlq.name}: inspect them, fix the cause, then re-run the gate (direct invoke with repository and digest)."
  namespace         = "AWS/SQS"
  metric_name       = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.dlq.name
  }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "sweep_dlq_messages" {
  count = var.sweep_queue_enabled ? 1 : 0

  alarm_name          = "${var.name}-sweep-dead-letter-messages"
  alarm_description   = "Sweep messages (one image each) that ${var.name} failed to evaluate ${var.sweep_max_receive_count} times are in ${aws_sqs_queue.sweep_dlq[0].name}: read them, fix the cause, then redrive them to ${aws_sqs_queue.sweep[0].name} (or invoke the gate with repository and digest)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.sweep_dlq[0].name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

# The sweep queue keeps a message 4 days (sweep.tf); a message normally lives
# minutes (a few deliveries, each within 6 x the timeout). An old message means
# the consumer is behind or failing, and SQS drops it unseen at the retention.
resource "aws_cloudwatch_metric_alarm" "sweep_queue_age" {
  count = var.sweep_queue_enabled ? 1 : 0

  alarm_name          = "${var.name}-sweep-queue-age"
  alarm_description   = "The oldest message (one image each) in ${aws_sqs_queue.sweep[0].name} has waited ${var.sweep_queue_age_alarm_seconds} s or more: the ${var.name} function is not keeping up with the queue or is failing on it. Look at the function's errors (${var.name}-function-errors, log group ${local.log_group_name}) and at the event-source mapping's maximum concurrency (sweep_max_concurrency). SQS drops a message after ${local.sweep_queue_message_retention_seconds} s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.sweep[0].name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = var.sweep_queue_age_alarm_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

# The function prints one EMF line per sweep (namespace ECRScanGate, dimension
# set [FunctionName]): SweepIncomplete is 1 when the sweep answered
# complete=false or had errors, SweepErrors counts the errors. Only with the
# sweep's schedule: without it no sweep runs unattended.
resource "aws_cloudwatch_metric_alarm" "sweep_incomplete" {
  count = local.sweep_scheduled ? 1 : 0

  alarm_name          = "${var.name}-sweep-incomplete"
  alarm_description   = "A sweep of ${var.name} ended incomplete (complete=false) or with errors (metric SweepErrors counts them): some images were not judged again and wait for the next sweep. Read the sweep's line in the log group ${local.log_group_name} (errors, stopped_in, repositories_done), fix the cause (permissions, throttling, a timeout too short for an inline sweep), then run the sweep again by hand."
  namespace           = local.metrics_namespace
  metric_name         = "SweepIncomplete"
  dimensions          = { FunctionName = aws_lambda_function.gate.function_name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}
