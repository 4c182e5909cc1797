# Plans of the root module for issue 22, the gate's control plane as safe as
# the gate, with mocked AWS as in defaults.tftest.hcl: the policy parameter
# (SecureString, writers, GATE_POLICY_REVISION), GATE_REPOSITORIES equal to the
# ECR grants, the regions the gate serves, the hub bus, Chatbot's least
# privilege, the trust conditions, TLS-only queues and topic, role paths and
# boundaries, the architecture, and the inputs that must be refused.

mock_provider "aws" {
  source = "./tests/mocks/hub"
  # The mock cannot render a policy; the tests read the statements instead.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}" }
  }
}

# Known ARNs at plan time, so that the assertions can read them.
override_resource {
  target          = aws_kms_key.this
  override_during = plan
  values = {
    arn    = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

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

override_resource {
  target          = aws_sqs_queue.dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-dlq"
    url = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-dlq"
  }
}

override_resource {
  target          = aws_ssm_parameter.gate_policy
  override_during = plan
  values = {
    arn = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"
  }
}

override_resource {
  target          = aws_sns_topic.alerts
  override_during = plan
  values = {
    arn = "arn:aws:sns:ap-northeast-1:123456789012:ecr-scan-gate-alerts"
  }
}

variables {
  lambda_zip_path = "tests/fixtures/bootstrap.zip"
}

# --- 1. the policy parameter -------------------------------------------------------

run "policy_parameter_is_a_secure_string_only_writers_encrypt" {
  command = plan

  assert {
    condition = (
      aws_ssm_parameter.gate_policy.type == "SecureString" &&
      aws_ssm_parameter.gate_policy.key_id == "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_ssm_parameter.gate_policy.name == "/ecr-scan-gate/policy"
    )
    error_message = "the policy is a SecureString under the gate's key"
  }

  # The contract with the function: the first 16 hex digits of the SHA-256 of
  # the very text stored.
  assert {
    condition = (
      nonsensitive(aws_lambda_function.gate.environment[0].variables["GATE_POLICY_REVISION"]) == substr(sha256(nonsensitive(aws_ssm_parameter.gate_policy.value)), 0, 16) &&
      length(nonsensitive(aws_lambda_function.gate.environment[0].variables["GATE_POLICY_REVISION"])) == 16 &&
      can(regex("^[0-9a-f]{16}$", nonsensitive(aws_lambda_function.gate.environment[0].variables["GATE_POLICY_REVISION"])))
    )
    error_message = "GATE_POLICY_REVISION must be substr(sha256(<stored JSON text>), 0, 16)"
  }

  # Only the identity that applies (every session of its role) may encrypt a
  # value for the policy parameter.
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.kms.statement : s if s.sid == "DenyPolicyParameterWritesExceptWriters"]).effect == "Deny" &&
      one([for s in data.aws_iam_policy_document.kms.statement : s if s.sid == "DenyPolicyParameterWritesExceptWriters"]).actions == toset(["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]) &&
      one([for s in data.aws_iam_policy_document.kms.statement : s if s.sid == "DenyPolicyParameterWritesExceptWriters"]).principals == toset([{ type = "AWS", identifiers = toset(["*"]) }]) &&
      one([for s in data.aws_iam_policy_document.kms.statement : s if s.sid == "DenyPolicyParameterWritesExceptWriters"]).condition == toset([
        { test = "StringEquals", variable = "kms:EncryptionContext:PARAMETER_ARN", values = tolist(["arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"]) },
        { test = "StringNotLike", variable = "aws:userid", values = tolist(["AROAEXAMPLEDEPLOYROLE:*"]) },
      ])
    )
    error_message = "the key denies the policy parameter's encryption to all but the identity that applies"
  }

  # CloudWatch alarms of this account only.
  assert {
    condition = one([for s in data.aws_iam_policy_document.kms.statement : s if s.sid == "AllowCloudWatchAlarms"]).condition == toset([
      { test = "StringEquals", variable = "aws:SourceAccount", values = tolist(["123456789012"]) },
    ])
    error_message = "the key's CloudWatch statement is limited to this account (aws:SourceAccount)"
  }

  # The function decrypts through SSM (and uses the key through SNS and SQS);
  # it never encrypts a parameter.
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "KmsDecryptParameters"]).actions == toset(["kms:Decrypt"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "KmsDecryptParameters"]).condition == toset([
        { test = "StringEquals", variable = "kms:ViaService", values = tolist(["ssm.ap-northeast-1.amazonaws.com"]) },
      ]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "KmsUseModuleKey"]).condition == toset([
        { test = "StringEquals", variable = "kms:ViaService", values = tolist(["sns.ap-northeast-1.amazonaws.com", "sqs.ap-northeast-1.amazonaws.com"]) },
      ]) &&
      length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "kms:Encrypt")]) == 0 &&
      contains(one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SsmReadParameters"]).resources, "arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy")
    )
    error_message = "the function role: kms:Decrypt through SSM, the key through SNS/SQS, no kms:Encrypt"
  }
}

# The revision follows the policy given as JSON text too (the stored text).
run "policy_revision_follows_policy_json" {
  command = plan

  variables {
    gate_policy_json = "{\"fail\": {\"HIGH\": 2}, \"notify\": [\"FAIL\"], \"allowlist\": [{\"id\": \"CVE-2024-0001\", \"reason\": \"a <b> & c\"}]}"
  }

  assert {
    condition = (
      nonsensitive(aws_lambda_function.gate.environment[0].variables["GATE_POLICY_REVISION"]) == substr(sha256(nonsensitive(aws_ssm_parameter.gate_policy.value)), 0, 16) &&
      nonsensitive(aws_ssm_parameter.gate_policy.value) == jsonencode(jsondecode(var.gate_policy_json))
    )
    error_message = "GATE_POLICY_REVISION is the hash of the stored JSON text of gate_policy_json"
  }
}

# More writers, and an IAM user (not a role session) applying.
run "policy_writers" {
  command = plan

  override_data {
    target = data.aws_caller_identity.current
    values = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/alice"
      user_id    = "AIDAEXAMPLEALICE"
    }
  }

  variables {
    policy_writer_arns = ["arn:aws:iam::123456789012:role/break-glass", "arn:aws:iam::123456789012:role/platform/ci-deploy"]
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.kms.statement : s if s.sid == "DenyPolicyParameterWritesExceptWriters"]).condition == toset([
      { test = "StringEquals", variable = "kms:EncryptionContext:PARAMETER_ARN", values = tolist(["arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecr-scan-gate/policy"]) },
      { test = "StringNotLike", variable = "aws:userid", values = tolist(["AIDAEXAMPLEALICE"]) },
      { test = "ArnNotEquals", variable = "aws:PrincipalArn", values = tolist(["arn:aws:iam::123456789012:role/break-glass", "arn:aws:iam::123456789012:role/platform/ci-deploy"]) },
    ])
    error_message = "policy_writer_arns escape the deny (aws:PrincipalArn); an IAM user by its exact unique id"
  }
}

run "policy_writer_session_arn_refused" {
  command = plan

  variables {
    policy_writer_arns = ["arn:aws:sts::123456789012:assumed-role/deploy/ci"]
  }

  expect_failures = [var.policy_writer_arns]
}

# --- 2. the hub bus ------------------------------------------------------------------

# Member accounts forward to the gate's own bus; the default bus is left alone.
run "hub_bus_for_member_accounts" {
  command = plan

  variables {
    member_accounts = ["111111111111"]
  }

  assert {
    condition = (
      aws_cloudwatch_event_bus.hub[0].name == "ecr-scan-gate-hub" &&
      aws_cloudwatch_event_bus_policy.hub[0].event_bus_name == "ecr-scan-gate-hub" &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).principals == toset([{ type = "AWS", identifiers = toset(["111111111111"]) }]) &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).actions == toset(["events:PutEvents"]) &&
      one(data.aws_iam_policy_document.hub_bus[0].statement).condition == toset([
        { test = "ForAllValues:StringEquals", variable = "events:source", values = tolist(["aws.ecr", "aws.inspector2"]) },
        { test = "ForAllValues:StringEquals", variable = "events:detail-type", values = tolist(["ECR Image Scan", "Inspector2 Scan", "Inspector2 Finding"]) },
      ])
    )
    error_message = "the hub bus admits PutEvents of the member's aws.ecr/aws.inspector2 scan events only"
  }

  assert {
    condition = (
      alltrue([for r in aws_cloudwatch_event_rule.gate : r.event_bus_name == null || r.event_bus_name == "default"]) &&
      alltrue([for r in aws_cloudwatch_event_rule.forwarded : r.event_bus_name == "ecr-scan-gate-hub"]) &&
      toset(keys(aws_cloudwatch_event_rule.forwarded)) == toset(keys(aws_cloudwatch_event_rule.gate)) &&
      jsondecode(aws_cloudwatch_event_rule.forwarded["inspector2-scan"].event_pattern).resources == [{ wildcard = "arn:aws:ecr:*:*:repository/demo-api" }] &&
      jsondecode(aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern).resources == ["arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api"]
    )
    error_message = "the same rules on the default bus (own events, own ARNs) and on the hub bus (any account and region)"
  }
}

# This account's other regions forward to the hub bus too (same account: no
# bus policy needed, none made).
run "gate_regions" {
  command = plan

  variables {
    gate_regions              = ["eu-west-1"]
    gated_repository_patterns = ["team-a/*"]
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrQuarantineTagsAndScans"]).resources == toset([
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api",
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/team-a/*",
        "arn:aws:ecr:eu-west-1:123456789012:repository/demo-api",
        "arn:aws:ecr:eu-west-1:123456789012:repository/team-a/*",
      ]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrReadScanResults"]).resources == one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrQuarantineTagsAndScans"]).resources &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrDescribeRepositories"]).resources == toset([
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/*",
        "arn:aws:ecr:eu-west-1:123456789012:repository/*",
      ])
    )
    error_message = "ECR grants in every region the gate serves"
  }

  # GATE_REPOSITORIES holds the globs; the grants are those globs in each region.
  assert {
    condition = toset(flatten([
      for r in ["ap-northeast-1", "eu-west-1"] : [for g in split(",", aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"]) : "arn:aws:ecr:${r}:123456789012:repository/${g}"]
    ])) == one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrReadScanResults"]).resources
    error_message = "GATE_REPOSITORIES x gate regions == the ECR grants"
  }

  assert {
    condition = (
      jsondecode(aws_scheduler_schedule.gate["sweep"].target[0].input) == { sweep = { regions = ["ap-northeast-1", "eu-west-1"] } } &&
      output.gate_regions == tolist(["ap-northeast-1", "eu-west-1"])
    )
    error_message = "the scheduled sweep covers every region the gate serves: ${aws_scheduler_schedule.gate["sweep"].target[0].input}"
  }

  assert {
    condition = (
      length(aws_cloudwatch_event_bus.hub) == 1 && length(aws_cloudwatch_event_bus_policy.hub) == 0 &&
      length(aws_cloudwatch_event_rule.forwarded) == 3 &&
      !contains(keys(aws_lambda_function.gate.environment[0].variables), "MEMBER_ROLE_NAME")
    )
    error_message = "another region of this account: the hub bus and its rules, no bus policy, no member mode"
  }
}

run "gate_regions_with_sweep_regions_given" {
  command = plan

  variables {
    gate_regions = ["eu-west-1", "us-east-1"]
    sweep_input  = { regions = ["eu-west-1"], start_scans = true }
  }

  assert {
    condition     = jsondecode(aws_scheduler_schedule.gate["sweep"].target[0].input) == { sweep = { regions = ["eu-west-1"], start_scans = true } }
    error_message = "sweep_input.regions, when given, is sent as given"
  }
}

run "sweep_regions_outside_gate_regions" {
  command = plan

  variables {
    sweep_input = { regions = ["ap-northeast-1", "eu-west-1"] }
  }

  expect_failures = [aws_scheduler_schedule.gate]
}

run "gate_regions_not_regions" {
  command = plan

  variables {
    gate_regions = ["europe"]
  }

  expect_failures = [var.gate_regions]
}

# --- 3. GATE_REPOSITORIES == the grants ------------------------------------------------

run "gate_repositories_default" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"] == "demo-api" &&
      toset([for g in split(",", aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"]) : "arn:aws:ecr:ap-northeast-1:123456789012:repository/${g}"]) == one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrQuarantineTagsAndScans"]).resources
    )
    error_message = "GATE_REPOSITORIES is the gated set of the ECR grants"
  }
}

run "gate_repositories_names_and_globs" {
  command = plan

  variables {
    repository_names          = ["demo-api", "demo-web"]
    existing_repository_names = ["legacy/api"]
    gated_repository_patterns = ["team-a/*", "*-prod", "payments/worker"]
  }

  assert {
    condition = (
      aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"] == "demo-api,demo-web,legacy/api,payments/worker,team-a/*,*-prod" &&
      toset([for g in split(",", aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"]) : "arn:aws:ecr:ap-northeast-1:123456789012:repository/${g}"]) == one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrReadScanResults"]).resources &&
      split(",", aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"]) == output.gated_repository_globs
    )
    error_message = "GATE_REPOSITORIES: ${nonsensitive(aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"])}"
  }
}

run "gate_repositories_every_repository" {
  command = plan

  variables {
    repository_names          = []
    gated_repository_patterns = ["*"]
  }

  assert {
    condition = (
      aws_lambda_function.gate.environment[0].variables["GATE_REPOSITORIES"] == "*" &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrReadScanResults"]).resources == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/*"])
    )
    error_message = "GATE_REPOSITORIES=* with grants on repository/*"
  }
}

# --- 4. Chatbot --------------------------------------------------------------------------

run "chatbot_least_privilege" {
  command = plan

  override_resource {
    target          = aws_iam_policy.chatbot_read_only
    override_during = plan
    values = {
      arn = "arn:aws:iam::123456789012:policy/ecr-scan-gate-chatbot-read-only"
    }
  }

  variables {
    chatbot_slack = { team_id = "T07EA123LEP", channel_id = "C07EZ1ABC23" }
  }

  assert {
    condition = (
      aws_chatbot_slack_channel_configuration.alerts[0].user_authorization_required == true &&
      aws_chatbot_slack_channel_configuration.alerts[0].guardrail_policy_arns == tolist(["arn:aws:iam::123456789012:policy/ecr-scan-gate-chatbot-read-only"]) &&
      aws_iam_role_policy_attachment.chatbot[0].policy_arn == "arn:aws:iam::123456789012:policy/ecr-scan-gate-chatbot-read-only" &&
      length(aws_iam_role_policy_attachment.chatbot) == 1
    )
    error_message = "Chatbot: the module's read-only policy as channel role and guardrail, user authorisation on"
  }

  assert {
    condition = one(data.aws_iam_policy_document.chatbot_assume[0].statement).condition == toset([
      { test = "StringEquals", variable = "aws:SourceAccount", values = tolist(["123456789012"]) },
    ])
    error_message = "the Chatbot trust is limited to this account"
  }

  # Alarms and logs of the gate; metric data on "*" (no resource-level permission).
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.chatbot[0].statement : s if s.sid == "ReadGateAlarms"]).resources == toset(["arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:ecr-scan-gate-*"]) &&
      one([for s in data.aws_iam_policy_document.chatbot[0].statement : s if s.sid == "ReadGateLogs"]).resources == toset([
        "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/ecr-scan-gate",
        "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/ecr-scan-gate:*",
      ]) &&
      alltrue([for s in data.aws_iam_policy_document.chatbot[0].statement : s.effect == "Allow" && alltrue([for a in s.actions : can(regex("^(cloudwatch|logs):(Describe|Get|List|Filter)", a))])]) &&
      alltrue([
        for s in data.aws_iam_policy_document.chatbot[0].statement : contains(s.resources, "*") ? s.actions == toset(["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricWidgetImage", "cloudwatch:ListMetrics"]) : true
      ])
    )
    error_message = "the Chatbot policy reads the gate's alarms and log group only; '*' only where no resource-level permission exists"
  }
}

run "chatbot_user_authorization_can_be_turned_off_guardrail_given" {
  command = plan

  variables {
    chatbot_slack = {
      team_id                     = "T07EA123LEP"
      channel_id                  = "C07EZ1ABC23"
      guardrail_policy_arns       = ["arn:aws:iam::123456789012:policy/org-chatbot-guardrail"]
      user_authorization_required = false
    }
  }

  assert {
    condition = (
      aws_chatbot_slack_channel_configuration.alerts[0].user_authorization_required == false &&
      aws_chatbot_slack_channel_configuration.alerts[0].guardrail_policy_arns == tolist(["arn:aws:iam::123456789012:policy/org-chatbot-guardrail"])
    )
    error_message = "the given guardrail replaces the module's; user authorisation follows the input"
  }
}

# --- 5. trusts and transport ---------------------------------------------------------------

run "scheduler_trusts_its_own_schedule_group" {
  command = plan

  assert {
    condition = (
      one(data.aws_iam_policy_document.scheduler_assume.statement).condition == toset([
        { test = "StringEquals", variable = "aws:SourceAccount", values = tolist(["123456789012"]) },
        { test = "ArnEquals", variable = "aws:SourceArn", values = tolist(["arn:aws:scheduler:ap-northeast-1:123456789012:schedule-group/ecr-scan-gate"]) },
      ]) &&
      aws_scheduler_schedule_group.gate[0].name == "ecr-scan-gate" &&
      alltrue([for sc in aws_scheduler_schedule.gate : sc.group_name == "ecr-scan-gate"])
    )
    error_message = "the scheduler role trusts the schedules of the gate's own group only"
  }
}

run "queues_and_topic_refuse_insecure_transport" {
  command = plan

  assert {
    condition = alltrue([
      for d in [data.aws_iam_policy_document.dlq, data.aws_iam_policy_document.sweep_queues["sweep"], data.aws_iam_policy_document.sweep_queues["sweep-dlq"], data.aws_iam_policy_document.alerts_topic] :
      length([
        for s in d.statement : s
        if s.effect == "Deny" && s.sid == "DenyInsecureTransport" && s.principals == toset([{ type = "*", identifiers = toset(["*"]) }]) &&
        s.condition == toset([{ test = "Bool", variable = "aws:SecureTransport", values = tolist(["false"]) }])
      ]) == 1
    ])
    error_message = "the dead-letter queue, the sweep queues and the alert topic deny requests without TLS"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.sweep_queues["sweep"].statement : s]).resources == toset(["arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep"]) &&
      one([for s in data.aws_iam_policy_document.sweep_queues["sweep-dlq"].statement : s]).resources == toset(["arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep-dlq"]) &&
      one([for s in data.aws_iam_policy_document.sweep_queues["sweep"].statement : s]).actions == toset(["sqs:*"]) &&
      one([for s in data.aws_iam_policy_document.alerts_topic.statement : s if s.sid == "DenyInsecureTransport"]).actions == toset(["sns:*"]) &&
      length(aws_sqs_queue_policy.sweep) == 1 && length(aws_sqs_queue_policy.sweep_dlq) == 1
    )
    error_message = "each queue's TLS statement names that queue, and is attached"
  }
}

# --- 6. roles: path and boundary -----------------------------------------------------------

run "role_path_and_permissions_boundary" {
  command = plan

  variables {
    role_path                = "/security/gate/"
    permissions_boundary_arn = "arn:aws:iam::123456789012:policy/pipeline-boundary"
    chatbot_slack            = { team_id = "T07EA123LEP", channel_id = "C07EZ1ABC23" }
    ecs_hook_enabled         = true
  }

  assert {
    condition = alltrue([
      for r in [aws_iam_role.gate, aws_iam_role.scheduler[0], aws_iam_role.ecs_hook[0], aws_iam_role.chatbot[0]] :
      r.path == "/security/gate/" && r.permissions_boundary == "arn:aws:iam::123456789012:policy/pipeline-boundary"
    ]) && aws_iam_policy.chatbot_read_only[0].path == "/security/gate/"
    error_message = "every role the module creates takes role_path and permissions_boundary_arn"
  }
}

run "roles_default_path_no_boundary" {
  command = plan

  assert {
    condition     = aws_iam_role.gate.path == "/" && aws_iam_role.gate.permissions_boundary == null && aws_iam_role.scheduler[0].permissions_boundary == null
    error_message = "default: path / and no boundary"
  }
}

run "role_path_without_slashes" {
  command = plan

  variables {
    role_path = "security"
  }

  expect_failures = [var.role_path]
}

run "permissions_boundary_not_a_policy" {
  command = plan

  variables {
    permissions_boundary_arn = "arn:aws:iam::123456789012:role/boundary"
  }

  expect_failures = [var.permissions_boundary_arn]
}

# --- 7. architecture ---------------------------------------------------------------------

run "architecture_x86_64" {
  command = plan

  variables {
    architecture     = "x86_64"
    lambda_zip_path  = null
    lambda_s3_bucket = "my-artifacts"
    lambda_s3_key    = "ecr-scan-gate/v0.2.0/ecr-scan-gate-lambda-x86_64.zip"
  }

  assert {
    condition     = aws_lambda_function.gate.architectures == tolist(["x86_64"])
    error_message = "architecture x86_64"
  }
}

run "architecture_defaults_to_arm64" {
  command = plan

  assert {
    condition     = aws_lambda_function.gate.architectures == tolist(["arm64"])
    error_message = "architecture arm64 by default"
  }
}

# The x86_64 function given the arm64 release zip would fail at every invocation.
run "architecture_and_release_zip_disagree" {
  command = plan

  variables {
    architecture     = "x86_64"
    lambda_zip_path  = null
    lambda_s3_bucket = "my-artifacts"
    lambda_s3_key    = "ecr-scan-gate/v0.2.0/ecr-scan-gate-lambda-arm64.zip"
  }

  expect_failures = [aws_lambda_function.gate]
}

run "architecture_unknown" {
  command = plan

  variables {
    architecture = "amd64"
  }

  expect_failures = [var.architecture]
}

# --- 8. smaller: concurrency, member role names, external id --------------------------------

run "sweep_max_receive_count_default" {
  command = plan

  assert {
    condition     = jsondecode(aws_sqs_queue.sweep[0].redrive_policy).maxReceiveCount == 5
    error_message = "sweep_max_receive_count defaults to 5"
  }
}

run "reserved_concurrency_below_sweep_concurrency" {
  command = plan

  variables {
    reserved_concurrent_executions = 3
    sweep_max_concurrency          = 4
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "reserved_concurrency_at_sweep_concurrency" {
  command = plan

  variables {
    reserved_concurrent_executions = 4
    sweep_max_concurrency          = 4
  }

  assert {
    condition     = aws_lambda_function.gate.reserved_concurrent_executions == 4
    error_message = "a reservation equal to the sweep's concurrency is accepted"
  }
}

run "reserved_concurrency_without_sweep_queue" {
  command = plan

  variables {
    reserved_concurrent_executions = 1
    sweep_queue_enabled            = false
  }

  assert {
    condition     = aws_lambda_function.gate.reserved_concurrent_executions == 1
    error_message = "without the sweep queue, any reservation of at least 1"
  }
}

# MEMBER_ROLE_NAME may name a role under a path, as the function accepts it.
run "member_role_name_with_path_and_external_id_with_underscore" {
  command = plan

  variables {
    member_accounts         = ["111111111111"]
    member_role_name        = "security/ecr-scan-gate-member"
    member_role_external_id = "org_gate-2024"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "StsAssumeMemberRoles"]).resources == toset(["arn:aws:iam::111111111111:role/security/ecr-scan-gate-member"]) &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["MEMBER_ROLE_NAME"]) == "security/ecr-scan-gate-member" &&
      nonsensitive(aws_lambda_function.gate.environment[0].variables["MEMBER_ROLE_EXTERNAL_ID"]) == "org_gate-2024"
    )
    error_message = "a role path in member_role_name, an external id with `_`"
  }
}

run "member_role_name_with_leading_slash" {
  command = plan

  variables {
    member_accounts  = ["111111111111"]
    member_role_name = "/security/ecr-scan-gate-member"
  }

  expect_failures = [var.member_role_name]
}

run "member_role_name_with_empty_segment" {
  command = plan

  variables {
    member_accounts  = ["111111111111"]
    member_role_name = "security//ecr-scan-gate-member"
  }

  expect_failures = [var.member_role_name]
}

run "member_role_name_too_long" {
  command = plan

  variables {
    member_accounts  = ["111111111111"]
    member_role_name = "security/${join("", [for i in range(65) : "a"])}"
  }

  expect_failures = [var.member_role_name]
}

run "member_role_external_id_with_space" {
  command = plan

  variables {
    member_accounts         = ["111111111111"]
    member_role_external_id = "has space"
  }

  expect_failures = [var.member_role_external_id]
}
