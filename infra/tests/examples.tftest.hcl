# Plans of each example (but the Datadog one: its provider is not on these
# machines; fmt, HCL parsing and checkov check it) and of modules/member, with
# mocked AWS: one mock per account of the organization example. The ECS
# lifecycle-hook example plans the gate's side of the hook (the provider of
# these machines, 5.100, has no aws_ecs_service lifecycle_hook).

mock_provider "aws" {
  source = "./tests/mocks/hub"
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}" }
  }
}

mock_provider "aws" {
  alias  = "hub"
  source = "./tests/mocks/hub"
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
  alias  = "member_a"
  source = "./tests/mocks/member_a"
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"events.amazonaws.com\"}}]}" }
  }
}

mock_provider "aws" {
  alias  = "member_b"
  source = "./tests/mocks/member_b"
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
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    external_id         = "ecr-scan-gate-org"
    repository_patterns = ["team-b/*"]
  }

  # Trust only the hub function's role, with the external id.
  assert {
    condition = (
      one(data.aws_iam_policy_document.member_assume.statement).principals == toset([{ type = "AWS", identifiers = toset(["arn:aws:iam::123456789012:role/ecr-scan-gate-function"]) }]) &&
      one(one(data.aws_iam_policy_document.member_assume.statement).condition).variable == "sts:ExternalId" &&
      aws_iam_role.member[0].name == "ecr-scan-gate-member" &&
      aws_iam_role.member[0].path == "/"
    )
    error_message = "the member role trusts the hub function's role only, with sts:ExternalId"
  }

  # Exactly the gate's ECR actions, on this account's gated repositories, in
  # this instance's region only (role_regions not set).
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).actions == toset(["ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:PutImage", "ecr:StartImageScan"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).resources == toset(["arn:aws:ecr:us-east-1:222222222222:repository/team-b/*"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrDescribeRepositories"]).actions == toset(["ecr:DescribeRepositories"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrDescribeRepositories"]).resources == toset(["arn:aws:ecr:us-east-1:222222222222:repository/*"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "InspectorReadFindingsForEnhancedScanning"]).actions == toset(["inspector2:ListCoverage", "inspector2:ListFindings"])
    )
    error_message = "the member role's permissions"
  }

  # Forward the three event types to the hub bus, with a role that may PutEvents there.
  assert {
    condition = (
      toset(keys(aws_cloudwatch_event_rule.forward)) == toset(["ecr-image-scan", "inspector2-scan", "inspector2-finding"]) &&
      alltrue([for t in aws_cloudwatch_event_target.forward : t.arn == "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"]) &&
      one(data.aws_iam_policy_document.forwarder.statement).resources == toset(["arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"]) &&
      one(data.aws_iam_policy_document.forwarder.statement).actions == toset(["events:PutEvents"]) &&
      aws_iam_role.forwarder.name == "ecr-scan-gate-forward-us-east-1"
    )
    error_message = "forwarding to the hub bus"
  }

  # Only the gated repositories' events leave the account.
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forward["ecr-image-scan"].event_pattern) == {
      source        = ["aws.ecr"]
      "detail-type" = ["ECR Image Scan"]
      detail        = { "repository-name" = [{ prefix = "team-b/" }] }
    }
    error_message = "ECR Image Scan forwarding pattern: ${aws_cloudwatch_event_rule.forward["ecr-image-scan"].event_pattern}"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.forward["inspector2-scan"].event_pattern).resources == [{ prefix = "arn:aws:ecr:us-east-1:222222222222:repository/team-b/" }]
    error_message = "Inspector2 Scan forwarding pattern: ${aws_cloudwatch_event_rule.forward["inspector2-scan"].event_pattern}"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forward["inspector2-finding"].event_pattern).detail == {
      status   = ["ACTIVE"]
      severity = ["CRITICAL", "HIGH"]
      resources = {
        type    = ["AWS_ECR_CONTAINER_IMAGE"]
        details = { awsEcrContainerImage = { repositoryName = [{ prefix = "team-b/" }] } }
      }
    }
    error_message = "the member forwards only findings that can matter, of the gated repositories"
  }

  # EventBridge assumes the forwarder role for these rules only.
  assert {
    condition = one(data.aws_iam_policy_document.forwarder_assume.statement).condition == toset([
      { test = "StringEquals", variable = "aws:SourceAccount", values = tolist(["222222222222"]) },
      { test = "ArnEquals", variable = "aws:SourceArn", values = tolist([
        "arn:aws:events:us-east-1:222222222222:rule/ecr-scan-gate-forward-ecr-image-scan",
        "arn:aws:events:us-east-1:222222222222:rule/ecr-scan-gate-forward-inspector2-finding",
        "arn:aws:events:us-east-1:222222222222:rule/ecr-scan-gate-forward-inspector2-scan",
      ]) },
    ])
    error_message = "the forwarder trusts EventBridge for its own rules only (aws:SourceArn)"
  }

  # An event that cannot reach the hub lands in the dead-letter queue, which alarms.
  assert {
    condition = (
      alltrue([for t in aws_cloudwatch_event_target.forward : length(t.dead_letter_config) == 1]) &&
      aws_sqs_queue.forward_dlq.name == "ecr-scan-gate-forward-dlq" &&
      aws_sqs_queue.forward_dlq.sqs_managed_sse_enabled == true &&
      aws_cloudwatch_metric_alarm.forward_dlq.namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.forward_dlq.metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.forward_dlq.dimensions["QueueName"] == "ecr-scan-gate-forward-dlq" &&
      aws_cloudwatch_metric_alarm.forward_dlq.threshold == 1 &&
      aws_cloudwatch_metric_alarm.forward_dlq.comparison_operator == "GreaterThanOrEqualToThreshold"
    )
    error_message = "the forwarding targets' dead-letter queue and its alarm"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.forward_dlq.statement : s if s.sid == "AllowForwardingRulesDeadLetters"]).principals == toset([{ type = "Service", identifiers = toset(["events.amazonaws.com"]) }]) &&
      length(one([for s in data.aws_iam_policy_document.forward_dlq.statement : s if s.sid == "AllowForwardingRulesDeadLetters"]).condition) == 1 &&
      one(one([for s in data.aws_iam_policy_document.forward_dlq.statement : s if s.sid == "AllowForwardingRulesDeadLetters"]).condition).variable == "aws:SourceArn" &&
      one([for s in data.aws_iam_policy_document.forward_dlq.statement : s if s.sid == "DenyInsecureTransport"]).effect == "Deny" &&
      one([for s in data.aws_iam_policy_document.forward_dlq.statement : s if s.sid == "DenyInsecureTransport"]).condition == toset([{ test = "Bool", variable = "aws:SecureTransport", values = tolist(["false"]) }])
    )
    error_message = "the dead-letter queue takes the forwarding rules' events only, over TLS only"
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
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    repository_patterns = ["team-b/*"]
    archive_enabled     = true
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).actions == toset(["ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:PutImage", "ecr:StartImageScan", "ecr:UpdateImageStorageClass"]) &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).resources == toset(["arn:aws:ecr:us-east-1:222222222222:repository/team-b/*"])
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
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    repository_patterns = ["team-a/*"]
    create_role         = false
  }

  assert {
    condition     = length(aws_iam_role.member) == 0 && length(one(data.aws_iam_policy_document.member_assume.statement).condition) == 0
    error_message = "no role where create_role = false; no external id condition without one"
  }

  assert {
    condition     = length(aws_cloudwatch_event_rule.forward) == 3 && length(aws_cloudwatch_metric_alarm.forward_dlq.alarm_actions) == 0
    error_message = "a forwarding-only instance still forwards, with its dead-letter queue's alarm (no action by default)"
  }
}

# Names, a prefix and a wildcard; several regions for the role; a role under a
# path (as MEMBER_ROLE_NAME may name it); an external id with `_`; a boundary.
run "member_module_names_regions_path" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_a
  }

  variables {
    hub_role_arn             = "arn:aws:iam::123456789012:role/platform/ecr-scan-gate-function"
    hub_event_bus_arn        = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    repository_patterns      = ["payments/api", "team-a/*", "*-prod"]
    role_regions             = ["ap-northeast-1", "us-east-1"]
    role_name                = "security/ecr-scan-gate-member"
    external_id              = "org_gate-2024"
    role_path                = "/gate/"
    permissions_boundary_arn = "arn:aws:iam::111111111111:policy/boundary"
    alarm_actions            = ["arn:aws:sns:ap-northeast-1:111111111111:oncall"]
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forward["ecr-image-scan"].event_pattern).detail["repository-name"] == [
      "payments/api", { prefix = "team-a/" }, { wildcard = "*-prod" },
    ]
    error_message = "repository-name matchers: ${aws_cloudwatch_event_rule.forward["ecr-image-scan"].event_pattern}"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forward["inspector2-scan"].event_pattern).resources == [
      "arn:aws:ecr:ap-northeast-1:111111111111:repository/payments/api",
      { prefix = "arn:aws:ecr:ap-northeast-1:111111111111:repository/team-a/" },
      { wildcard = "arn:aws:ecr:ap-northeast-1:111111111111:repository/*-prod" },
    ]
    error_message = "Inspector2 Scan resources: ${aws_cloudwatch_event_rule.forward["inspector2-scan"].event_pattern}"
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).resources == toset([
      "arn:aws:ecr:ap-northeast-1:111111111111:repository/payments/api",
      "arn:aws:ecr:ap-northeast-1:111111111111:repository/team-a/*",
      "arn:aws:ecr:ap-northeast-1:111111111111:repository/*-prod",
      "arn:aws:ecr:us-east-1:111111111111:repository/payments/api",
      "arn:aws:ecr:us-east-1:111111111111:repository/team-a/*",
      "arn:aws:ecr:us-east-1:111111111111:repository/*-prod",
    ])
    error_message = "the role's ECR resources: each pattern in each of role_regions"
  }

  # arn:aws:iam::111111111111:role/security/ecr-scan-gate-member, the ARN the
  # gate assumes for MEMBER_ROLE_NAME = security/ecr-scan-gate-member.
  assert {
    condition = (
      aws_iam_role.member[0].name == "ecr-scan-gate-member" &&
      aws_iam_role.member[0].path == "/security/" &&
      aws_iam_role_policy.member[0].name == "ecr-scan-gate-member-ecr" &&
      aws_iam_role.member[0].permissions_boundary == "arn:aws:iam::111111111111:policy/boundary" &&
      aws_iam_role.forwarder.path == "/gate/" &&
      aws_iam_role.forwarder.permissions_boundary == "arn:aws:iam::111111111111:policy/boundary"
    )
    error_message = "role name and path from role_name; forwarder path and both boundaries"
  }

  assert {
    condition     = one(one(data.aws_iam_policy_document.member_assume.statement).condition).values == tolist(["org_gate-2024"]) && aws_cloudwatch_metric_alarm.forward_dlq.alarm_actions == toset(["arn:aws:sns:ap-northeast-1:111111111111:oncall"])
    error_message = "external id with `_`; alarm actions"
  }
}

# "*" chosen deliberately: no repository filter (Inspector2 Scan: ECR only).
run "member_module_every_repository" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_a
  }

  variables {
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    repository_patterns = ["*"]
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.forward["ecr-image-scan"].event_pattern) == { source = ["aws.ecr"], "detail-type" = ["ECR Image Scan"] } &&
      jsondecode(aws_cloudwatch_event_rule.forward["inspector2-scan"].event_pattern).resources == [{ prefix = "arn:aws:ecr:" }] &&
      jsondecode(aws_cloudwatch_event_rule.forward["inspector2-finding"].event_pattern).detail.resources == { type = ["AWS_ECR_CONTAINER_IMAGE"] } &&
      one([for s in data.aws_iam_policy_document.member.statement : s if s.sid == "EcrGateActions"]).resources == toset(["arn:aws:ecr:ap-northeast-1:111111111111:repository/*"])
    )
    error_message = "repository_patterns = [\"*\"]: every repository of this region, explicitly"
  }
}

run "member_module_no_repository_patterns" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_a
  }

  variables {
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    repository_patterns = []
  }

  expect_failures = [var.repository_patterns]
}

# The hub admits member events only on its own bus.
run "member_module_default_bus_refused" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_a
  }

  variables {
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/default"
    repository_patterns = ["team-a/*"]
  }

  expect_failures = [var.hub_event_bus_arn]
}

run "member_module_role_name_with_leading_slash" {
  command = plan

  module {
    source = "./modules/member"
  }

  providers = {
    aws = aws.member_a
  }

  variables {
    hub_role_arn        = "arn:aws:iam::123456789012:role/ecr-scan-gate-function"
    hub_event_bus_arn   = "arn:aws:events:ap-northeast-1:123456789012:event-bus/ecr-scan-gate-hub"
    repository_patterns = ["team-a/*"]
    role_name           = "/security/ecr-scan-gate-member"
  }

  expect_failures = [var.role_name]
}

# --- modules/team-exceptions: one team's exceptions document -----------------------

# The parameter under the gate's path, seeded with the team's document, and a
# policy rendered in the plan: the team may write that one parameter, nothing else.
run "team_exceptions_module" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path      = "/ecr-scan-gate/exceptions/"
    team      = "payments"
    role_name = "payments-ci"
    document = {
      repositories = ["payments/*"]
      allowlist    = [{ package = "linux-libc-dev", reason = "kernel headers, no kernel in the image", expires = "2027-01-31" }]
      vex          = []
    }
  }

  override_resource {
    target          = aws_iam_policy.this
    override_during = plan
    values = {
      arn = "arn:aws:iam::123456789012:policy/ecr-scan-gate-exceptions-payments"
    }
  }

  assert {
    condition = (
      aws_ssm_parameter.this.name == "/ecr-scan-gate/exceptions/payments" &&
      aws_ssm_parameter.this.type == "String" &&
      aws_ssm_parameter.this.tier == "Standard" &&
      jsondecode(aws_ssm_parameter.this.value) == {
        repositories = ["payments/*"]
        allowlist    = [{ package = "linux-libc-dev", reason = "kernel headers, no kernel in the image", expires = "2027-01-31" }]
        vex          = []
      }
    )
    error_message = "the team's parameter is <path><team>, a Standard String seeded with its document"
  }

  # The whole policy, as IAM will get it.
  assert {
    condition = jsondecode(aws_iam_policy.this.policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid      = "WriteOwnExceptionsDocument"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:PutParameter"]
        Resource = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/exceptions/payments"
      }]
    }
    error_message = "the team may only get and put its own parameter: ${aws_iam_policy.this.policy}"
  }

  assert {
    condition     = !strcontains(aws_iam_policy.this.policy, "*") && aws_iam_policy.this.policy == output.policy_json
    error_message = "no wildcard in the team's policy"
  }

  assert {
    condition = (
      aws_iam_policy.this.name == "ecr-scan-gate-exceptions-payments" &&
      length(aws_iam_role_policy_attachment.this) == 1 &&
      aws_iam_role_policy_attachment.this[0].role == "payments-ci" &&
      aws_iam_role_policy_attachment.this[0].policy_arn == "arn:aws:iam::123456789012:policy/ecr-scan-gate-exceptions-payments"
    )
    error_message = "the policy is attached to the team's role, and only to it"
  }

  assert {
    condition = (
      output.parameter_name == "/ecr-scan-gate/exceptions/payments" &&
      output.parameter_arn == "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/exceptions/payments" &&
      output.policy_arn == "arn:aws:iam::123456789012:policy/ecr-scan-gate-exceptions-payments"
    )
    error_message = "outputs: parameter name and ARN, policy ARN"
  }
}

# A SecureString under the gate's key: the team may use the key through SSM,
# for its own parameter only (encryption context).
run "team_exceptions_module_secure_string" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path        = "/ecr-scan-gate/exceptions/"
    team        = "search"
    type        = "SecureString"
    kms_key_arn = "arn:aws:kms:ap-northeast-1:123456789012:key/0b7c5e3a-1111-2222-3333-444455556666"
    document    = { repositories = ["search/*", "search-indexer"] }
  }

  assert {
    condition = (
      aws_ssm_parameter.this.type == "SecureString" &&
      aws_ssm_parameter.this.key_id == "arn:aws:kms:ap-northeast-1:123456789012:key/0b7c5e3a-1111-2222-3333-444455556666"
    )
    error_message = "SecureString under the given key"
  }

  assert {
    condition = jsondecode(aws_iam_policy.this.policy).Statement == [
      {
        Sid      = "WriteOwnExceptionsDocument"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:PutParameter"]
        Resource = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/exceptions/search"
      },
      {
        Sid      = "UseGateKeyForOwnExceptionsDocument"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
        Resource = "arn:aws:kms:ap-northeast-1:123456789012:key/0b7c5e3a-1111-2222-3333-444455556666"
        Condition = {
          StringEquals = {
            "kms:ViaService"                      = "ssm.ap-northeast-1.amazonaws.com"
            "kms:EncryptionContext:PARAMETER_ARN" = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/exceptions/search"
          }
        }
      },
    ]
    error_message = "the key through SSM, for this parameter only: ${aws_iam_policy.this.policy}"
  }

  assert {
    condition     = length(aws_iam_role_policy_attachment.this) == 0
    error_message = "no attachment without role_name"
  }
}

# Above 4096 bytes the seed needs the Advanced tier.
run "team_exceptions_module_large_document" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path     = "/ecr-scan-gate/exceptions/"
    team     = "data"
    document = { repositories = ["data/*"], allowlist = [{ id = "CVE-2024-0001", reason = format("%05000d", 0) }] }
  }

  assert {
    condition     = aws_ssm_parameter.this.tier == "Advanced"
    error_message = "a document above 4096 bytes is Advanced"
  }
}

run "team_exceptions_module_without_repositories" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path     = "/ecr-scan-gate/exceptions/"
    team     = "payments"
    document = { allowlist = [{ id = "CVE-2024-0001", reason = "no fix upstream" }] }
  }

  expect_failures = [var.document]
}

# The gate refuses a key it does not know, at start: so does the plan.
run "team_exceptions_module_unknown_key" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path     = "/ecr-scan-gate/exceptions/"
    team     = "payments"
    document = { repositories = ["payments/*"], fail = { CRITICAL = 5 } }
  }

  expect_failures = [var.document]
}

run "team_exceptions_module_empty_repositories" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path     = "/ecr-scan-gate/exceptions/"
    team     = "payments"
    document = { repositories = [], allowlist = [] }
  }

  expect_failures = [var.document]
}

run "team_exceptions_module_repositories_not_a_list" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path     = "/ecr-scan-gate/exceptions/"
    team     = "payments"
    document = { repositories = "payments/*" }
  }

  expect_failures = [var.document]
}

# A team gets one parameter, not a sub-tree.
run "team_exceptions_module_team_with_a_slash" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path     = "/ecr-scan-gate/exceptions/"
    team     = "payments/api"
    document = { repositories = ["payments/*"] }
  }

  expect_failures = [var.team]
}

run "team_exceptions_module_path_without_trailing_slash" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path     = "/ecr-scan-gate/exceptions"
    team     = "payments"
    document = { repositories = ["payments/*"] }
  }

  expect_failures = [var.path]
}

run "team_exceptions_module_key_for_a_string" {
  command = plan

  module {
    source = "./modules/team-exceptions"
  }

  variables {
    path        = "/ecr-scan-gate/exceptions/"
    team        = "payments"
    kms_key_arn = "arn:aws:kms:ap-northeast-1:123456789012:key/0b7c5e3a-1111-2222-3333-444455556666"
    document    = { repositories = ["payments/*"] }
  }

  expect_failures = [var.kms_key_arn]
}
