output "ecr_repository_url" {
  description = "ECR Repository URL"
  value       = module.ecr_scan_gate.ecr_repository_url
}

output "ecr_repository_arn" {
  description = "ECR Repository ARN"
  value       = module.ecr_scan_gate.ecr_repository_arn
}

output "function_name" {
  description = "Name of the gate function"
  value       = module.ecr_scan_gate.function_name
}

output "sns_topic_arn" {
  description = "Alert topic"
  value       = module.ecr_scan_gate.sns_topic_arn
}

output "dead_letter_queue_url" {
  description = "Dead-letter queue of events that could not be evaluated"
  value       = module.ecr_scan_gate.dead_letter_queue_url
}

output "slack_webhook_parameter_name" {
  description = "SSM SecureString of the Slack webhook URL (name only)"
  value       = module.ecr_scan_gate.slack_webhook_parameter_name
}
