output "function_name" {
  description = "The gate function in the hub"
  value       = module.hub.function_name
}

output "member_role_arns" {
  description = "The role the gate assumes in each member"
  value = {
    member_a = module.member_a.role_arn
    member_b = module.member_b.role_arn
  }
}
