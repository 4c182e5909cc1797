output "role_arn" {
  description = "ARN of the role the gate assumes here (null where create_role is false)"
  value       = var.create_role ? aws_iam_role.member[0].arn : null
}

output "forward_rule_arns" {
  description = "ARN of each rule forwarding scan events to the hub, by key"
  value       = { for k, r in aws_cloudwatch_event_rule.forward : k => r.arn }
}

output "dead_letter_queue_url" {
  description = "URL of the queue of the scan events this member could not forward to the hub (never judged: sweep this account and region after fixing the cause)"
  value       = aws_sqs_queue.forward_dlq.url
}

output "dead_letter_alarm_arn" {
  description = "ARN of the alarm on the forwarding dead-letter queue"
  value       = aws_cloudwatch_metric_alarm.forward_dlq.arn
}
