output "role_arn" {
  description = "ARN of the role the gate assumes here (null where create_role is false)"
  value       = var.create_role ? aws_iam_role.member[0].arn : null
}

output "forward_rule_arns" {
  description = "ARN of each rule forwarding scan events to the hub, by key"
  value       = { for k, r in aws_cloudwatch_event_rule.forward : k => r.arn }
}
