# Design section 7: the repository's URL and ARN. With several repositories in
# var.repository_names, these name the first; the maps below name them all.

output "ecr_repository_url" {
  description = "ECR Repository URL (the first of repository_names; design: demo-api)"
  value       = length(var.repository_names) > 0 ? aws_ecr_repository.this[var.repository_names[0]].repository_url : null
}

output "ecr_repository_arn" {
  description = "ECR Repository ARN (the first of repository_names; design: demo-api)"
  value       = length(var.repository_names) > 0 ? aws_ecr_repository.this[var.repository_names[0]].arn : null
}

output "ecr_repository_urls" {
  description = "URL of every repository this module created, by name"
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "ecr_repository_arns" {
  description = "ARN of every repository this module created, by name"
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}

output "gated_repository_names" {
  description = "Repositories the gate watches by name (created here or existing); see gated_repository_globs for the globs"
  value       = local.gated_repository_names
}

output "gated_repository_globs" {
  description = "Every repository selector of the gate: names and globs, or [\"*\"] for every repository (GATE_REPOSITORIES is these, comma-separated)"
  value       = local.gated_repository_globs
}

output "gate_regions" {
  description = "Regions whose gated repositories the function's role may act on in this account: its own and gate_regions"
  value       = local.gate_regions
}

output "function_name" {
  description = "Name of the gate function (for `aws lambda invoke` of a re-evaluation: {\"repository\": ..., \"digest\": ...})"
  value       = aws_lambda_function.gate.function_name
}

output "function_arn" {
  description = "ARN of the gate function"
  value       = aws_lambda_function.gate.arn
}

output "function_role_arn" {
  description = "ARN of the function's execution role"
  value       = aws_iam_role.gate.arn
}

output "log_group_name" {
  description = "Log group of the function: one JSON line per decision, and the EMF metrics"
  value       = aws_cloudwatch_log_group.gate.name
}

output "sns_topic_arn" {
  description = "ARN of the alert topic (function alerts and alarms); subscribe more endpoints to it"
  value       = aws_sns_topic.alerts.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (events that could not be evaluated)"
  value       = aws_sqs_queue.dlq.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue"
  value       = aws_sqs_queue.dlq.arn
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key of the topic, queues, logs, policy and webhook parameters (use it with `aws ssm put-parameter --key-id` for a webhook parameter created outside Terraform)"
  value       = aws_kms_key.this.arn
}

output "gate_policy_parameter_name" {
  description = "Name of the SSM SecureString parameter holding the policy (GATE_POLICY_PARAMETER), encrypted with kms_key_arn; only the identity that applies and policy_writer_arns may write it"
  value       = aws_ssm_parameter.gate_policy.name
}

output "gate_policy_parameter_tier" {
  description = "Tier of the policy parameter: Standard up to 4096 bytes as stored, Advanced (billed by AWS) above"
  value       = aws_ssm_parameter.gate_policy.tier
}

output "exceptions_parameter_path" {
  description = "Path of the team exception documents (EXCEPTIONS_PARAMETER_PATH), the `path` of modules/team-exceptions; null when exceptions_parameter_path is not set"
  value       = var.exceptions_parameter_path
}

# The name only: the URL itself is never an output.
output "slack_webhook_parameter_name" {
  description = "Name of the SSM SecureString holding the Slack webhook URL (SLACK_WEBHOOK_PARAMETER); null when Slack is off"
  value       = var.slack_webhook_enabled ? local.slack_webhook_parameter_name : null
}

output "event_rule_arns" {
  description = "ARN of each EventBridge rule that triggers the gate, by key"
  value       = { for key, rule in aws_cloudwatch_event_rule.gate : key => rule.arn }
}

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms by key: function_errors, dlq_messages; sweep_dlq_messages and sweep_queue_age with the sweep queue; sweep_incomplete with the sweep schedule"
  value = merge(
    {
      function_errors = aws_cloudwatch_metric_alarm.function_errors.arn
      dlq_messages    = aws_cloudwatch_metric_alarm.dlq_messages.arn
    },
    var.sweep_queue_enabled ? { sweep_dlq_messages = aws_cloudwatch_metric_alarm.sweep_dlq_messages[0].arn } : {},
    var.sweep_queue_enabled ? { sweep_queue_age = aws_cloudwatch_metric_alarm.sweep_queue_age[0].arn } : {},
    local.sweep_scheduled ? { sweep_incomplete = aws_cloudwatch_metric_alarm.sweep_incomplete[0].arn } : {},
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard; null when dashboard_enabled is false"
  value       = var.dashboard_enabled ? aws_cloudwatch_dashboard.gate[0].dashboard_name : null
}

output "sweep_queue_url" {
  description = "URL of the sweep queue (SWEEP_QUEUE_URL); null when sweep_queue_enabled is false"
  value       = var.sweep_queue_enabled ? aws_sqs_queue.sweep[0].url : null
}

output "sweep_dead_letter_queue_url" {
  description = "URL of the sweep's dead-letter queue (images the sweep failed to evaluate); null without the sweep queue"
  value       = var.sweep_queue_enabled ? aws_sqs_queue.sweep_dlq[0].url : null
}

output "schedule_arns" {
  description = "ARN of each EventBridge Scheduler schedule (sweep, report), by key"
  value       = { for key, schedule in aws_scheduler_schedule.gate : key => schedule.arn }
}

output "event_bus_arn" {
  description = "ARN of the hub bus `<name>-hub`, where member accounts and this account's other regions (gate_regions) forward their scan events (hub_event_bus_arn of modules/member); null with neither member_accounts nor another region"
  value       = local.hub_bus_enabled ? aws_cloudwatch_event_bus.hub[0].arn : null
}

output "hub_bus_rule_arns" {
  description = "ARN of each rule of the hub bus that triggers the gate (forwarded events), by key; empty without the hub bus"
  value       = { for key, rule in aws_cloudwatch_event_rule.forwarded : key => rule.arn }
}

output "ecs_hook_role_arn" {
  description = "ARN of the role Amazon ECS assumes to invoke the function as a deployment lifecycle hook (roleArn of a service's lifecycle hook, with hookTargetArn = function_arn); null when ecs_hook_enabled is false"
  value       = var.ecs_hook_enabled ? aws_iam_role.ecs_hook[0].arn : null
}

output "member_role_name" {
  description = "Name of the role the gate assumes in member accounts (role_name of modules/member); null in single-account mode. The external id is never an output."
  value       = local.member_mode ? var.member_role_name : null
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the function's EMF metrics (dimensions [Repository] and [Repository, Verdict]), for dashboards and the Datadog module (Datadog metric prefix: the namespace lowercased)"
  value       = local.metrics_namespace
}

output "chatbot_configuration_arn" {
  description = "ARN of the AWS Chatbot Slack channel configuration; null when not configured"
  value       = local.chatbot_enabled ? aws_chatbot_slack_channel_configuration.alerts[0].chat_configuration_arn : null
}
