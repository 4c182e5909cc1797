# Plans of each example (but the Datadog one: its provider is not on these
# machines; fmt, HCL parsing and checkov check it) and of modules/member, with
# mocked AWS: one mock per account of the organization example. The ECS
# lifecycle-hook example plans the gate's side of the hook (the provider of
# these machines, 5.100, has no aws_ecs_service lifecycle_hook).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}" }
  }
}

mock_provider "aws" {
  alias = "hub"
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}" }
  }
  # The hub role's ARN, known at plan: the members trust it.
  mock_resource "aws_iam_role" {
    override_during = plan
    defaults        = { arn = "arn:aws:iam::123456789012:role/ecr-scan-gate-function" }
  }
}

mock_provider "aws" {
  alias = "member_a"
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111111111111" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"events.amazonaws.com\"}}]}" }
  }
}

mock_provider "aws" {
  alias = "member_b"
  mock_data "aws_caller_identity" {
    defaults = { account_id = "222222222222" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"events.amazonaws.com\"}}]}" }
  }
}

run "design_single_repo" {
  command = plan

  module {
    source = "./examples/design-single-repo"
  }

  variables {
    lambda_zip_path = "tests/fixtures/bootstrap.zip"
  }

  assert {
    condition     = module.ecr_scan_gate.gated_repository_names == tolist(["demo-api"])
    error_message = "the design's example gates demo-api"
  }
}

run "organization" {
  command = plan

  module {
    source = "./examples/organization"
  }

  providers = {
    aws.hub      = aws.hub
    aws.member_a = aws.member_a
    aws.member_b = aws.member_b
  }

  variables {
    hub_account_id          = "123456789012"
    member_a_account_id     = "111111111111"
    member_b_account_id     = "222222222222"
    organization_id         = "o-abc123defg"
    member_role_external_id = "ecr-scan-gate-org"
    lambda_zip_path         = "tests/fixtures/bootstrap.zip"
  }

  assert {
    condition     = output.function_name == "ecr-scan-gate"
    error_message = "the hub's function"
  }
}

# The gate as an ECS deployment lifecycle hook: the service's deployment
# configuration (rendered for the AWS CLI) names the function and the hook
# role, and the role may only invoke that function.
run "ecs_lifecycle_hook" {
  command = plan

  module {
    source = "./examples/ecs-lifecycle-hook"
  }

  variables {
    lambda_zip_path  = "tests/fixtures/bootstrap.zip"
    ecs_cluster_name = "prod"
    ecs_service_name = "demo-api"
  }

  # Known ARNs at plan, so that the wiring can be read.
  override_resource {
    target          = module.ecr_scan_gate.aws_lambda_function.gate
    override_during = plan
    values = {
      arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:ecr-scan-gate"
    }
  }

  override_resource {
    target          = module.ecr_scan_gate.aws_iam_role.ecs_hook
    override_during = plan
    values = {
      arn = "arn:aws:iam::123456789012:role/ecr-scan-gate-ecs-hook"
    }
  }

  assert {
    condition = jsondecode(output.deployment_configuration) == {
      strategy          = "BLUE_GREEN"
      bakeTimeInMinutes = 5
      lifecycleHooks = [{
        hookTargetArn   = "arn:aws:lambda:ap-northeast-1:123456789012:function:ecr-scan-gate"
        roleArn         = "arn:aws:iam::123456789012:role/ecr-scan-gate-ecs-hook"
        lifecycleStages = ["PRE_SCALE_UP"]
      }]
    }
    error_message = "deployment configuration: ${output.deployment_configuration}"
  }

  assert {
    condition     = output.ecs_hook_role_arn == "arn:aws:iam::123456789012:role/ecr-scan-gate-ecs-hook" && output.function_arn == "arn:aws:lambda:ap-northeast-1:123456789012:function:ecr-scan-gate"
    error_message = "the example passes the module's hook role and function through"
  }

  assert {
    condition     = output.update_service_command == "aws ecs update-service --region ap-northeast-1 --cluster prod --service demo-api --deployment-configuration '${output.deployment_configuration}'"
    error_message = "update_service_command: ${coalesce(output.update_service_command, "null")}"
  }
}

run "ecs_lifecycle_hook_without_a_service" {
  command = plan

  module {
    source = "./examples/ecs-lifecycle-hook"
  }

  variables {
    lambda_zip_path  = "tests/fixtures/bootstrap.zip"
    lifecycle_stages = ["PRE_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"]
  }

  assert {
    condition     = output.update_service_command == null
    error_message = "no command without a cluster and a service"
  }
}

run "ecs_lifecycle_hook_unknown_stage" {
  command = plan

  module {
    source = "./examples/ecs-lifecycle-hook"
  }

  variables {
    lambda_zip_path  = "tests/fixtures/bootstrap.zip"
    lifecycle_stages = ["PRE_DEPLOY"]
  }

  expect_failures = [var.lifecycle_stages]
}

# The member module as the organization example uses it (member B: us-east-1,
# forwarding to the hub bus in ap-northeast-1).
run "member_module" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_b
  }

  variables {
    hub_role_arn              = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn         = "arn:aws:events:ap-northeast-1:123456789012:event-bus/default"
    external_id               = "ecr-scan-gate-org"
    gated_repository_patterns = ["team-b/*"]
  }

  # Trust only the hub function's role, with the external id.
  assert {
    condition = (
      one(data.aws_iam_policy_document.member_assume.statement).principals == toset([{ type = "AWS", identifiers = toset(["arn:aws:iam::123456789012:role/ecr-scan-gate-function"]) }]) &&
      one(one(data.aws_iam_policy_document.member_assume.statement).condition).variable == "sts:ExternalId" &&
      aws_iam_role.member[0].name == "ecr-scan-gate-member"
    )
    error_message = "the member role trusts the hub function's role only, with sts:ExternalId"
  }

  # Exactly the gate's ECR actions, on this account's gated repositories in every region.
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).actions == toset(["ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:PutImage", "ecr:StartImageScan"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).resources == toset(["arn:aws:ecr:*:222222222222:repository/team-b/*"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrDescribeRepositories"]).actions == toset(["ecr:DescribeRepositories"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "InspectorReadFindingsForEnhancedScanning"]).actions == toset(["inspector2:ListCoverage", "inspector2:ListFindings"])
    )
    error_message = "the member role's permissions"
  }

  # Forward the three event types to the hub bus, with a role that may PutEvents there.
  assert {
    condition = (
      toset(keys(aws_cloudwatch_event_rule.forward)) == toset(["ecr-image-scan", "inspector2-scan", "inspector2-finding"]) &&
      alltrue([for t in aws_cloudwatch_event_target.forward : t.arn == "arn:aws:events:ap-northeast-1:123456789012:event-bus/default"]) &&
      one(data.aws_iam_policy_document.forwarder.statement).resources == toset(["arn:aws:events:ap-northeast-1:123456789012:event-bus/default"]) &&
      one(data.aws_iam_policy_document.forwarder.statement).actions == toset(["events:PutEvents"]) &&
      aws_iam_role.forwarder.name == "ecr-scan-gate-forward-us-east-1"
    )
    error_message = "forwarding to the hub bus"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.forward["inspector2-finding"].event_pattern).detail == { status = ["ACTIVE"], severity = ["CRITICAL", "HIGH"], resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] } }
    error_message = "the member forwards only findings that can matter"
  }
}

# A hub whose policy archives: the member role may archive and restore too.
run "member_module_archive" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_b
  }

  variables {
    hub_role_arn              = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn         = "arn:aws:events:ap-northeast-1:123456789012:event-bus/default"
    gated_repository_patterns = ["team-b/*"]
    archive_enabled           = true
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).actions == toset(["ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:PutImage", "ecr:StartImageScan", "ecr:UpdateImageStorageClass"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).resources == toset(["arn:aws:ecr:*:222222222222:repository/team-b/*"])
    )
    error_message = "with archive_enabled the member role may UpdateImageStorageClass, on the same repositories"
  }
}

run "member_module_second_region" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_a
  }

  variables {
    hub_role_arn      = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn = "arn:aws:events:ap-northeast-1:123456789012:event-bus/default"
    create_role       = false
  }

  assert {
    condition     = length(aws_iam_role.member) == 0 && length(one(data.aws_iam_policy_document.member_assume.statement).condition) == 0
    error_message = "no role where create_role = false; no external id condition without one"
  }
}
