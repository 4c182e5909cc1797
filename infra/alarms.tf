# Alarms to the alert topic: the function failed, or an event could not be
# evaluated at all (it is in the dead-letter queue).

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
