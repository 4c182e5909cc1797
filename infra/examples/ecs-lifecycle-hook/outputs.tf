output "function_arn" {
  description = "The gate function: hookTargetArn of the service's lifecycle hook"
  value       = module.ecr_scan_gate.function_arn
}

output "ecs_hook_role_arn" {
  description = "The role ECS assumes to invoke the gate: roleArn of the service's lifecycle hook"
  value       = module.ecr_scan_gate.ecs_hook_role_arn
}

output "deployment_configuration" {
  description = "The service's deployment configuration (JSON, ECS API shape): blue/green with the gate as a lifecycle hook; for `aws ecs update-service --deployment-configuration`"
  value       = jsonencode(local.deployment_configuration)
}

output "update_service_command" {
  description = "The AWS CLI command that wires ecs_service_name to the hook; null unless ecs_cluster_name and ecs_service_name are set"
  value       = local.update_service_command
}
