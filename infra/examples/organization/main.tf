# A hub and two members in two regions. The hub runs the gate; each
# member forwards its scan events to the hub's default event bus and lets the
# gate assume its role. Plan/apply with credentials that can assume
# deployment_role_name in the three accounts.

module "hub" {
  source    = "../.."
  providers = { aws = aws.hub }

  # The hub's own repositories: the design's demo-api, and the members' teams.
  # The hub's selection must cover each member's repository_patterns.
  repository_names          = ["demo-api"]
  gated_repository_patterns = ["team-a/*", "team-b/*"]

  member_accounts         = [var.member_a_account_id, var.member_b_account_id]
  organization_id         = var.organization_id
  member_role_external_id = var.member_role_external_id

  lambda_zip_path = var.lambda_zip_path
}

module "member_a" {
  source    = "../../modules/member"
  providers = { aws = aws.member_a }

  hub_role_arn      = module.hub.function_role_arn
  hub_event_bus_arn = module.hub.event_bus_arn
  role_name         = module.hub.member_role_name
  external_id       = var.member_role_external_id

  # Required: the repositories the gate serves here (no "every repository"
  # default). Only their events are forwarded; the role acts on them only.
  repository_patterns = ["team-a/*"]
}

module "member_b" {
  source    = "../../modules/member"
  providers = { aws = aws.member_b }

  hub_role_arn      = module.hub.function_role_arn
  hub_event_bus_arn = module.hub.event_bus_arn
  role_name         = module.hub.member_role_name
  external_id       = var.member_role_external_id

  # Only this team's repositories may be touched in member B.
  repository_patterns = ["team-b/*"]
}

# In another region of an account that already has its role: the role's
# instance lists both regions (role_regions = ["ap-northeast-1", "us-east-1"]),
# and the other region only forwards:
# module "member_a_us_east_1" {
#   source              = "../../modules/member"
#   providers           = { aws = aws.member_a_us_east_1 }
#   create_role         = false
#   repository_patterns = ["team-a/*"]
#   ...
# }
