# A hub and two members in two regions. The hub runs the gate; each
# member forwards its scan events to the hub's own bus (`<name>-hub`, output
# event_bus_arn; never its default bus) and lets the gate assume its role.
# Every name follows var.name: the function, its role and bus in the hub, the
# member role (`<name>-member`), and each member's forwarding rules, role and
# dead-letter queue, so that a second gate (another name) can serve the same
# accounts. Plan/apply with credentials that can assume deployment_role_name in
# the three accounts.

module "hub" {
  source    = "../.."
  providers = { aws = aws.hub }

  name             = var.name
  member_role_name = "${var.name}-member"

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

  name              = var.name
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

  name              = var.name
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
