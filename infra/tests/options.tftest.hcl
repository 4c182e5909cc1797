# Plans of the root module with every option on, with each way of choosing the
# repositories, and with inputs that must be refused. Mocked AWS, as in
# defaults.tftest.hcl.

mock_provider "aws" {
  source = "./tests/mocks/hub"
  # The mock cannot render a policy; the tests read the statements instead.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}" }
  }
}

# Known ARNs and URLs at plan time, so that the assertions can read them.
override_resource {
  target          = aws_sqs_queue.sweep
  override_during = plan
  values = {
    arn = "arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep"
    url = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep"
  }
}

override_resource {
  target          = aws_sqs_queue.sweep_dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep-dlq"
    url = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep-dlq"
  }
}

variables {
  lambda_zip_path = "tests/fixtures/bootstrap.zip"
}

run "every_option_on" {
  command = plan

  override_resource {
    target          = aws_iam_policy.chatbot_read_only
    override_during = plan
    values = {
      arn = "arn:aws:iam::123456789012:policy/gate-chatbot-read-only"
    }
  }

  variables {
    name                           = "gate"
    repository_names               = ["demo-api", "demo-web"]
    existing_repository_names      = ["legacy/api"]
    gated_repository_patterns      = ["team-a/*", "*-prod"]
    enable_tagged_image_count_rule = true
    ecs_execution_role_arns        = ["arn:aws:iam::123456789012:role/demo-api-ecs-task-execution"]
    alert_email_addresses          = ["ops@example.com"]
    slack_webhook_enabled          = true
    slack_webhook_url              = "https://hooks.slack.com/services/example-not-a-secret"
    chatbot_slack                  = { team_id = "T07EA123LEP", channel_id = "C07EZ1ABC23" }
    tracing_mode                   = "Active"
    dry_run                        = true
    reserved_concurrent_executions = 5
    registry_scan_type             = "ENHANCED"
    inspector_finding_severities   = ["CRITICAL", "HIGH", "MEDIUM"]
    member_accounts                = ["111111111111", "222222222222"]
    organization_id                = "o-abc123defg"
    member_role_external_id        = "gate-external-id"
    sweep_input                    = { repositories = ["team-a/*"], start_scans = true }
    sweep_max_concurrency          = 4
    sweep_batch_size               = 10
    sweep_max_receive_count        = 5
    sweep_queue_age_alarm_seconds  = 3600
    alarm_period_seconds           = 60
    timeout                        = 120
    gate_policy_parameter_name     = "/platform/ecr-scan-gate/policy"
    slack_webhook_parameter_name   = "/platform/ecr-scan-gate/slack"
    gate_policy_json               = "{\"fail\": {\"CRITICAL\": 1}, \"fail_if\": [{\"severity_at_least\": \"HIGH\", \"exploit_available\": true}], \"block\": {\"archive\": \"unused\", \"in_use_days\": 30}}"
    ecs_hook_enabled               = true
    exceptions_parameter_path      = "/platform/ecr-scan-gate/exceptions/"
  }

  # Names, a prefix and a wildcard; member events: no account pin.
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.gate["ecr-image-scan"].event_pattern).detail["repository-name"] == [
      "demo-api", "demo-web", "legacy/api", { prefix = "team-a/" }, { wildcard = "*-prod" },
    ]
    error_message = "repository-name matchers: ${aws_cloudwatch_event_rule.gate["ecr-image-scan"].event_pattern}"
  }

  # On the default bus, this account's and region's repositories only: member
  # events arrive on the hub bus, whose rule takes any account and region.
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern).resources == [
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api",
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-web",
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/legacy/api",
      { prefix = "arn:aws:ecr:ap-northeast-1:123456789012:repository/team-a/" },
      { wildcard = "arn:aws:ecr:ap-northeast-1:123456789012:repository/*-prod" },
    ]
    error_message = "Inspector2 Scan resources on the default bus: ${aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern}"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forwarded["inspector2-scan"].event_pattern).resources == [
      { wildcard = "arn:aws:ecr:*:*:repository/demo-api" },
      { wildcard = "arn:aws:ecr:*:*:repository/demo-web" },
      { wildcard = "arn:aws:ecr:*:*:repository/legacy/api" },
      { wildcard = "arn:aws:ecr:*:*:repository/team-a/*" },
      { wildcard = "arn:aws:ecr:*:*:repository/*-prod" },
    ]
    error_message = "Inspector2 Scan resources on the hub bus: ${aws_cloudwatch_event_rule.forwarded["inspector2-scan"].event_pattern}"
  }

  assert {
    condition = (
      toset(keys(aws_cloudwatch_event_rule.forwarded)) == toset(["ecr-image-scan", "inspector2-scan", "inspector2-finding"]) &&
      alltrue([for r in aws_cloudwatch_event_rule.forwarded : r.event_bus_name == "gate-hub"]) &&
      aws_cloudwatch_event_rule.forwarded["ecr-image-scan"].event_pattern == aws_cloudwatch_event_rule.gate["ecr-image-scan"].event_pattern &&
      aws_cloudwatch_event_rule.forwarded["inspector2-finding"].event_pattern == aws_cloudwatch_event_rule.gate["inspector2-finding"].event_pattern &&
      alltrue([for t in aws_cloudwatch_event_target.forwarded : t.event_bus_name == "gate-hub" && length(t.dead_letter_config) == 1]) &&
      length(aws_lambda_permission.forwarded) == 3
    )
    error_message = "the gate's rules on the hub bus gate-hub, with targets, dead-letter queue and permissions"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.gate["inspector2-finding"].event_pattern).detail.severity == ["CRITICAL", "HIGH", "MEDIUM"]
    error_message = "the finding severities follow the variable"
  }

  # IAM resources follow the globs (own account: members are reached by AssumeRole).
  assert {
    condition = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrQuarantineTagsAndScans"]).resources == toset([
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api",
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-web",
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/legacy/api",
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/team-a/*",
      "arn:aws:ecr:ap-northeast-1:123456789012:repository/*-prod",
    ])
    error_message = "ECR resources of the role"
  }

  # The policy archives: UpdateImageStorageClass, scoped as PutImage.
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]).actions == toset(["ecr:UpdateImageStorageClass"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]).resources == one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrQuarantineTagsAndScans"]).resources
    )
    error_message = "block.archive = unused in gate_policy_json grants ecr:UpdateImageStorageClass on the gated repositories"
  }

  assert {
    condition     = length(aws_iam_role.ecs_hook) == 1 && length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ecs:DescribeServiceRevisions")]) == 1
    error_message = "the ECS hook role and DescribeServiceRevisions with every option"
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "StsAssumeMemberRoles"]).resources == toset([
      "arn:aws:iam::111111111111:role/ecr-scan-gate-member",
      "arn:aws:iam::222222222222:role/ecr-scan-gate-member",
    ])
    error_message = "sts:AssumeRole on the member roles"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "XRayWriteTraces"]) == 1
    error_message = "X-Ray permissions with tracing_mode = Active"
  }

  assert {
    condition     = contains(one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadParameters"]).resources, "arn:aws:ssm:ap-northeast-1:123456789012:parameter/platform/ecr-scan-gate/slack")
    error_message = "read of the webhook parameter"
  }

  # Member mode in the environment; the external id only there.
  assert {
    condition = (
      nonsensitive(aws_lambda_function.gate.environment[0].variables["MEMBER_ROLE_NAME"]) == "ecr-scan-gate-member" &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["MEMBER_ACCOUNTS"]) == "111111111111,222222222222" &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["MEMBER_ROLE_EXTERNAL_ID"]) == "gate-external-id" &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["SLACK_WEBHOOK_PARAMETER"]) == "/platform/ecr-scan-gate/slack" &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["DRY_RUN"]) == "true" &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["EXCEPTIONS_PARAMETER_PATH"]) == "/platform/ecr-scan-gate/exceptions/" &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"]) == "demo-api,demo-web,legacy/api,team-a/*,*-prod"
    )
    error_message = "function environment with every option"
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadTeamExceptions"]).resources == toset([
      "arn:aws:ssm:ap-northeast-1:123456789012:parameter/platform/ecr-scan-gate/exceptions",
      "arn:aws:ssm:ap-northeast-1:123456789012:parameter/platform/ecr-scan-gate/exceptions/*",
    ])
    error_message = "team exception documents: GetParametersByPath on their path"
  }

  # The hub bus accepts the members' scan events, within the organisation.
  assert {
    condition = (
      one(data.aws_iam_policy_document.hub_bus[0].statement).principals == toset([{ type = "AWS", identifiers = toset(["111111111111", "222222222222"]) }]) &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).actions == toset(["events:PutEvents"]) &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).resources == toset(["arn:aws:events:ap-northeast-1:123456789012:event-bus/gate-hub"]) &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).condition == toset([
        { test = "ForAllValues:StringEquals", variable = "events:source", values = tolist(["aws.ecr", "aws.inspector2"]) },
        { test = "ForAllValues:StringEquals", variable = "events:detail-type", values = tolist(["ECR Image Scan", "Inspector2 Scan", "Inspector2 Finding"]) },
        { test = "StringEquals", variable = "aws:PrincipalOrgID", values = tolist(["o-abc123defg"]) },
      ]) &&
      aws_cloudwatch_event_bus.hub[0].name == "gate-hub" &&
      aws_cloudwatch_event_bus_policy.hub[0].event_bus_name == "gate-hub"
    )
    error_message = "hub bus policy for the member accounts: PutEvents of aws.ecr / aws.inspector2 scan events, within the organisation"
  }

  # Registry scanning: Inspector, continuous, over the same selection.
  assert {
    condition = (
      aws_ecr_registry_scanning_configuration.this[0].scan_type == "ENHANCED" &&
      one(aws_ecr_registry_scanning_configuration.this[0].rule).scan_frequency == "CONTINUOUS_SCAN" &&
      length(one(aws_ecr_registry_scanning_configuration.this[0].rule).repository_filter) == 5
    )
    error_message = "registry scanning configuration"
  }

  # The policy given as JSON text is what is stored, keys the HCL no longer second-guesses.
  assert {
    condition     = jsondecode(aws_ssm_parameter.gate_policy.value).fail_if[0].exploit_available == true
    error_message = "gate_policy_json is stored as given"
  }

  assert {
    condition = (
      aws_sqs_queue.sweep[0].visibility_timeout_seconds == 720 &&
      aws_lambda_event_source_mapping.sweep[0].scaling_config[0].maximum_concurrency == 4 &&
      aws_lambda_event_source_mapping.sweep[0].batch_size == 10 &&
      jsondecode(aws_scheduler_schedule.gate["sweep"].target[0].input) == { sweep = { repositories = ["team-a/*"], start_scans = true } }
    )
    error_message = "sweep options"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].alarm_name == "gate-sweep-queue-age" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].dimensions["QueueName"] == "gate-sweep" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].threshold == 3600 &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].period == 60 &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].dimensions["FunctionName"] == "gate" &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].period == 60
    )
    error_message = "sweep alarms follow name, sweep_queue_age_alarm_seconds and alarm_period_seconds"
  }

  assert {
    condition = (
      length(aws_chatbot_slack_channel_configuration.alerts) == 1 &&
      aws_chatbot_slack_channel_configuration.alerts[0].guardrail_policy_arns == tolist(["arn:aws:iam::123456789012:policy/gate-chatbot-read-only"]) &&
      aws_chatbot_slack_channel_configuration.alerts[0].user_authorization_required == true &&
      length(jsondecode(aws_ecr_lifecycle_policy.this["demo-api"].policy).rules) == 2 &&
      length(aws_ecr_repository_policy.this) == 2 &&
      length(aws_sns_topic_subscription.email) == 1
    )
    error_message = "chatbot, lifecycle rule 2, repository policy, e-mail"
  }

  assert {
    condition     = alltrue([for r in aws_cloudwatch_event_rule.gate : length(r.event_pattern) <= 2048])
    error_message = "an event pattern is above 2048 characters"
  }
}

run "every_repository_of_the_account" {
  command = plan

  variables {
    repository_names          = []
    gated_repository_patterns = ["*"]
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.gate["ecr-image-scan"].event_pattern) == { source = ["aws.ecr"], "detail-type" = ["ECR Image Scan"] }
    error_message = "every repository: no repository filter on ECR Image Scan"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern).resources == [{ prefix = "arn:aws:ecr:" }]
    error_message = "every repository: Inspector2 Scan still only for ECR resources"
  }

  assert {
    condition     = !can(jsondecode(aws_cloudwatch_event_rule.gate["inspector2-finding"].event_pattern).detail.resources.details)
    error_message = "every repository: no repository filter on Inspector2 Finding"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrReadScanResults"]).resources == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/*"])
    error_message = "every repository: IAM on repository/*"
  }

  assert {
    condition     = length(aws_ecr_repository.this) == 0 && output.ecr_repository_url == null
    error_message = "no repository is created"
  }
}

run "by_prefix" {
  command = plan

  variables {
    gated_repository_patterns = ["team-a/*"]
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern).resources == ["arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api", { prefix = "arn:aws:ecr:ap-northeast-1:123456789012:repository/team-a/" }]
    error_message = "prefix on the repository ARN: ${aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern}"
  }

  # The design's repository is still created exactly as the design has it.
  assert {
    condition     = aws_ecr_repository.this["demo-api"].name == "demo-api" && aws_ecr_repository.this["demo-api"].image_tag_mutability == "MUTABLE"
    error_message = "demo-api stays"
  }
}

run "enhanced_scanning_events_off" {
  command = plan

  variables {
    gate_enhanced_scanning_events = false
  }

  assert {
    condition     = keys(aws_cloudwatch_event_rule.gate) == ["ecr-image-scan"]
    error_message = "only the basic scan rule"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingsForEnhancedScanning"]) == 0
    error_message = "no inspector2 permission"
  }
}

run "whole_organization" {
  command = plan

  variables {
    member_accounts = ["*"]
    organization_id = "o-abc123defg"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "StsAssumeMemberRoles"]).resources == toset(["arn:aws:iam::*:role/ecr-scan-gate-member"]) &&
      one(one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "StsAssumeMemberRoles"]).condition).variable == "aws:ResourceOrgID"
    )
    error_message = "any account of the organisation, by aws:ResourceOrgID"
  }

  assert {
    condition     = nonsensitive(aws_lambda_function.gate.environment[0].variables["MEMBER_ACCOUNTS"]) == "*" && !contains(keys(aws_lambda_function.gate.environment[0].variables), "MEMBER_ROLE_EXTERNAL_ID")
    error_message = "MEMBER_ACCOUNTS=* and no external id"
  }

  # Any principal of the organisation, scan events only.
  assert {
    condition = (
      one(data.aws_iam_policy_document.hub_bus[0].statement).sid == "AllowOrganizationPutScanEvents" &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).principals == toset([{ type = "*", identifiers = toset(["*"]) }]) &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).condition == toset([
        { test = "StringEquals", variable = "aws:PrincipalOrgID", values = tolist(["o-abc123defg"]) },
        { test = "ForAllValues:StringEquals", variable = "events:source", values = tolist(["aws.ecr", "aws.inspector2"]) },
        { test = "ForAllValues:StringEquals", variable = "events:detail-type", values = tolist(["ECR Image Scan", "Inspector2 Scan", "Inspector2 Finding"]) },
      ])
    )
    error_message = "the hub bus accepts the organisation's scan events only"
  }
}

run "sweep_and_schedules_off" {
  command = plan

  variables {
    sweep_queue_enabled     = false
    sweep_schedule_enabled  = false
    report_schedule_enabled = false
    dashboard_enabled       = false
  }

  assert {
    condition = (
      !contains(keys(aws_lambda_function.gate.environment[0].variables), "SWEEP_QUEUE_URL") &&
      length(aws_sqs_queue.sweep) == 0 && length(aws_scheduler_schedule.gate) == 0 && length(aws_iam_role.scheduler) == 0 &&
      length(aws_lambda_event_source_mapping.sweep) == 0 && length(aws_cloudwatch_dashboard.gate) == 0
    )
    error_message = "nothing of the sweep without it"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrDescribeRepositories"]).resources == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api"])
    error_message = "without a sweep, DescribeRepositories only on the gated repositories"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "inspector2:ListFindingAggregations")]) == 0
    error_message = "without a sweep, no inspector2:ListFindingAggregations"
  }

  assert {
    condition = (
      length(aws_cloudwatch_metric_alarm.sweep_dlq_messages) == 0 &&
      length(aws_cloudwatch_metric_alarm.sweep_queue_age) == 0 &&
      length(aws_cloudwatch_metric_alarm.sweep_incomplete) == 0 &&
      toset(keys(output.alarm_arns)) == toset(["function_errors", "dlq_messages"])
    )
    error_message = "without a sweep, no sweep alarm: ${jsonencode(keys(output.alarm_arns))}"
  }
}

# The sweep runs inline on its schedule (no queue): the minimum timeout of a
# queue record does not apply, the incomplete-sweep alarm does.
run "sweep_inline_without_queue" {
  command = plan

  variables {
    sweep_queue_enabled = false
    timeout             = 10
  }

  assert {
    condition = (
      aws_lambda_function.gate.timeout == 10 &&
      length(aws_sqs_queue.sweep) == 0 &&
      length(aws_cloudwatch_metric_alarm.sweep_queue_age) == 0 &&
      length(aws_cloudwatch_metric_alarm.sweep_incomplete) == 1 &&
      toset(keys(output.alarm_arns)) == toset(["function_errors", "dlq_messages", "sweep_incomplete"])
    )
    error_message = "inline sweep: no queue nor its alarms, the incomplete-sweep alarm: ${jsonencode(keys(output.alarm_arns))}"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingAggregations"]).actions == toset(["inspector2:ListFindingAggregations"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrDescribeRepositories"]).resources == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/*"])
    )
    error_message = "a scheduled inline sweep lists every repository and reads Inspector's aggregations"
  }
}

# The queue without the schedules (sweeps invoked by hand): the queue's alarms
# and the sweep's permissions, no incomplete-sweep alarm; 20 s is enough.
run "sweep_queue_without_schedules" {
  command = plan

  variables {
    sweep_schedule_enabled  = false
    report_schedule_enabled = false
    timeout                 = 20
  }

  assert {
    condition = (
      length(aws_scheduler_schedule.gate) == 0 &&
      length(aws_cloudwatch_metric_alarm.sweep_incomplete) == 0 &&
      length(aws_cloudwatch_metric_alarm.sweep_queue_age) == 1 &&
      aws_sqs_queue.sweep[0].visibility_timeout_seconds == 120 &&
      toset(keys(output.alarm_arns)) == toset(["function_errors", "dlq_messages", "sweep_dlq_messages", "sweep_queue_age"])
    )
    error_message = "queue without schedules: ${jsonencode(keys(output.alarm_arns))}"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingAggregations"]) == 1
    error_message = "the queue's sweep reads Inspector's aggregations"
  }
}

# The report's schedule alone sweeps nothing: no incomplete-sweep alarm (the
# role keeps the sweep permissions, as for DescribeRepositories).
run "report_schedule_only" {
  command = plan

  variables {
    sweep_schedule_enabled = false
    sweep_queue_enabled    = false
  }

  assert {
    condition     = keys(aws_scheduler_schedule.gate) == ["report"] && length(aws_cloudwatch_metric_alarm.sweep_incomplete) == 0
    error_message = "report only: no incomplete-sweep alarm"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingAggregations"]) == 1
    error_message = "ListFindingAggregations follows DescribeRepositories' sweep condition"
  }
}

run "release_zip_from_s3" {
  command = plan

  variables {
    lambda_zip_path          = null
    lambda_s3_bucket         = "my-artifacts"
    lambda_s3_key            = "ecr-scan-gate/v0.2.0/ecr-scan-gate-lambda-arm64.zip"
    lambda_s3_object_version = "3HL4kqtJlcpXroDTDmJ"
  }

  assert {
    condition = (
      aws_lambda_function.gate.filename == null &&
      aws_lambda_function.gate.s3_bucket == "my-artifacts" &&
      aws_lambda_function.gate.s3_key == "ecr-scan-gate/v0.2.0/ecr-scan-gate-lambda-arm64.zip" &&
      aws_lambda_function.gate.s3_object_version == "3HL4kqtJlcpXroDTDmJ"
    )
    error_message = "the function code comes from the S3 object"
  }
}

# --- the policy's block.archive decides ecr:UpdateImageStorageClass -----------

run "archive_unused" {
  command = plan

  variables {
    gate_policy = {
      fail  = { CRITICAL = 1 }
      block = { archive = "unused", in_use_days = 30 }
    }
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]).actions == toset(["ecr:UpdateImageStorageClass"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]).resources == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api"]) &&
      length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ecr:UpdateImageStorageClass")]) == 1
    )
    error_message = "block.archive = unused: ecr:UpdateImageStorageClass on the gated repository, once"
  }

  assert {
    condition     = jsondecode(aws_ssm_parameter.gate_policy.value).block == { archive = "unused", in_use_days = 30 }
    error_message = "the stored policy carries the block key"
  }
}

# From gate_policy_json, with a glob: the grant follows the repository selection.
run "archive_always_from_policy_json" {
  command = plan

  variables {
    gate_policy_json          = "{\"fail\": {\"CRITICAL\": 1}, \"block\": {\"archive\": \"always\"}}"
    gated_repository_patterns = ["team-a/*"]
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]).actions == toset(["ecr:UpdateImageStorageClass"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]).resources == toset([
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api",
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/team-a/*",
      ])
    )
    error_message = "block.archive = always (gate_policy_json): ecr:UpdateImageStorageClass on the gated repositories"
  }
}

run "archive_off" {
  command = plan

  variables {
    gate_policy = {
      fail  = { CRITICAL = 1 }
      block = { archive = "off", in_use_days = 30 }
    }
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ecr:UpdateImageStorageClass")]) == 0
    error_message = "block.archive = off: no ecr:UpdateImageStorageClass"
  }
}

# A block without `archive` (or a null one) is "off".
run "archive_absent_from_block" {
  command = plan

  variables {
    gate_policy_json = "{\"fail\": {\"CRITICAL\": 1}, \"block\": {\"in_use_days\": 30, \"archive\": null}}"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ecr:UpdateImageStorageClass")]) == 0
    error_message = "block without archive: no ecr:UpdateImageStorageClass"
  }
}

# "unused" asks Inspector whether an image is in use (inUseCount): the role may
# read the aggregations even where no sweep can run. "always" does not ask.
run "archive_unused_without_sweep" {
  command = plan

  variables {
    sweep_queue_enabled     = false
    sweep_schedule_enabled  = false
    report_schedule_enabled = false
    gate_policy             = { fail = { CRITICAL = 1 }, block = { archive = "unused" } }
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingAggregations"]).actions == toset(["inspector2:ListFindingAggregations"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]).actions == toset(["ecr:UpdateImageStorageClass"])
    )
    error_message = "block.archive = unused without a sweep: ListFindingAggregations (in use?) and UpdateImageStorageClass"
  }
}

run "archive_always_without_sweep" {
  command = plan

  variables {
    sweep_queue_enabled     = false
    sweep_schedule_enabled  = false
    report_schedule_enabled = false
    gate_policy             = { fail = { CRITICAL = 1 }, block = { archive = "always" } }
  }

  assert {
    condition = (
      length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "inspector2:ListFindingAggregations")]) == 0 &&
      length([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrArchiveImages"]) == 1
    )
    error_message = "block.archive = always without a sweep: UpdateImageStorageClass, no ListFindingAggregations"
  }
}

# --- the ECS lifecycle hook off -------------------------------------------------

run "ecs_hook_disabled" {
  command = plan

  variables {
    ecs_hook_enabled = false
  }

  assert {
    condition = (
      length(aws_iam_role.ecs_hook) == 0 &&
      length(aws_iam_role_policy.ecs_hook) == 0 &&
      length(data.aws_iam_policy_document.ecs_hook) == 0 &&
      length(data.aws_iam_policy_document.ecs_hook_assume) == 0
    )
    error_message = "ecs_hook_enabled = false: no hook role, no policy"
  }

  assert {
    condition     = output.ecs_hook_role_arn == null
    error_message = "ecs_hook_enabled = false: output ecs_hook_role_arn is null"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ecs:DescribeServiceRevisions")]) == 0
    error_message = "ecs_hook_enabled = false: no ecs:DescribeServiceRevisions for the function"
  }
}

# --- inputs that must be refused -------------------------------------------------

# About 40 listed names exceed EventBridge's 2048-character pattern quota.
run "event_pattern_too_large" {
  command = plan

  variables {
    existing_repository_names = [for i in range(40) : format("team-%02d/service-with-a-long-name", i)]
  }

  expect_failures = [aws_cloudwatch_event_rule.gate]
}

run "empty_chatbot_guardrails" {
  command = plan

  variables {
    chatbot_slack = { team_id = "T07EA123LEP", channel_id = "C07EZ1ABC23", guardrail_policy_arns = [] }
  }

  expect_failures = [var.chatbot_slack]
}

run "chatbot_administrator_guardrail" {
  command = plan

  variables {
    chatbot_slack = { team_id = "T07EA123LEP", channel_id = "C07EZ1ABC23", guardrail_policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"] }
  }

  expect_failures = [var.chatbot_slack]
}

run "organization_without_id" {
  command = plan

  variables {
    member_accounts = ["*"]
  }

  expect_failures = [var.member_accounts]
}

run "sweep_concurrency_below_lambda_minimum" {
  command = plan

  variables {
    sweep_max_concurrency = 1
  }

  expect_failures = [var.sweep_max_concurrency]
}

run "enhanced_registry_without_inspector_events" {
  command = plan

  variables {
    registry_scan_type            = "ENHANCED"
    gate_enhanced_scanning_events = false
  }

  expect_failures = [var.registry_scan_type]
}

run "policy_json_not_an_object" {
  command = plan

  variables {
    gate_policy_json = "[1, 2]"
  }

  expect_failures = [var.gate_policy_json]
}

run "member_star_with_accounts" {
  command = plan

  variables {
    member_accounts = ["*", "111111111111"]
    organization_id = "o-abc123defg"
  }

  expect_failures = [var.member_accounts]
}

# A sweep queue record needs one page of findings and a tag change with retries.
run "timeout_below_sweep_queue_minimum" {
  command = plan

  variables {
    timeout = 19
  }

  expect_failures = [var.timeout]
}

run "sweep_queue_age_alarm_not_positive" {
  command = plan

  variables {
    sweep_queue_age_alarm_seconds = 0
  }

  expect_failures = [var.sweep_queue_age_alarm_seconds]
}

# At the retention the message is already gone.
run "sweep_queue_age_alarm_at_retention" {
  command = plan

  variables {
    sweep_queue_age_alarm_seconds = 345600
  }

  expect_failures = [var.sweep_queue_age_alarm_seconds]
}
