output "parameter_name" {
  description = "Name of the team's exceptions parameter (`<path><team>`), for `aws ssm put-parameter --name`"
  value       = aws_ssm_parameter.this.name
}

output "parameter_arn" {
  description = "ARN of the team's exceptions parameter, the one resource its policy may write"
  value       = local.parameter_arn
}

output "policy_arn" {
  description = "ARN of the IAM policy that lets the team write its parameter and nothing else; attach it to one principal of the team (done when role_name is set)"
  value       = aws_iam_policy.this.arn
}

output "policy_json" {
  description = "The policy document itself (JSON), to review what the team gets"
  value       = local.policy
}
