# Plans of the root module with its defaults (the design's demo-api), with
# mocked AWS: what the rules match, what the role may do, the function's
# environment, the dead-letter queues, the alarms, the sweep, the dashboard.
# Run by scripts/check-infra.sh (`terraform test` in infra/).

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

run "defaults" {
  command = plan

  # The design's repository, exactly.
  assert {
    condition = (
      aws_ecr_repository.this["demo-api"].name == "demo-api" &&
      aws_ecr_repository.this["demo-api"].image_tag_mutability == "MUTABLE" &&
      aws_ecr_repository.this["demo-api"].image_scanning_configuration[0].scan_on_push == true &&
      aws_ecr_repository.this["demo-api"].encryption_configuration[0].encryption_type == "AES256" &&
      aws_ecr_repository.this["demo-api"].tags["Name"] == "demo-api" &&
      aws_ecr_repository.this["demo-api"].tags["Environment"] == "poc"
    )
    error_message = "demo-api is not the design's repository"
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this["demo-api"].policy).rules[0].selection == { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
    error_message = "lifecycle rule 1 must expire untagged images after 7 days"
  }

  assert {
    condition     = length(jsondecode(aws_ecr_lifecycle_policy.this["demo-api"].policy).rules) == 1
    error_message = "lifecycle rule 2 is optional and off by default"
  }

  # Event patterns: the gated repository, no `account` pin.
  assert {
    condition     = toset(keys(aws_cloudwatch_event_rule.gate)) == toset(["ecr-image-scan", "inspector2-scan", "inspector2-finding"])
    error_message = "expected the three rules"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.gate["ecr-image-scan"].event_pattern) == {
      source        = ["aws.ecr"]
      "detail-type" = ["ECR Image Scan"]
      detail        = { "repository-name" = ["demo-api"] }
    }
    error_message = "ECR Image Scan pattern: ${aws_cloudwatch_event_rule.gate["ecr-image-scan"].event_pattern}"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern) == {
      source        = ["aws.inspector2"]
      "detail-type" = ["Inspector2 Scan"]
      resources     = ["arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api"]
      detail        = { "scan-status" = ["INITIAL_SCAN_COMPLETE"] }
    }
    error_message = "Inspector2 Scan pattern: ${aws_cloudwatch_event_rule.gate["inspector2-scan"].event_pattern}"
  }

  # Review fix: only ACTIVE findings on ECR images of the severities that can matter.
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.gate["inspector2-finding"].event_pattern) == {
      source        = ["aws.inspector2"]
      "detail-type" = ["Inspector2 Finding"]
      detail = {
        status   = ["ACTIVE"]
        severity = ["CRITICAL", "HIGH"]
        resources = {
          type    = ["AWS_ECR_CONTAINER_IMAGE"]
          details = { awsEcrContainerImage = { repositoryName = ["demo-api"] } }
        }
      }
    }
    error_message = "Inspector2 Finding pattern: ${aws_cloudwatch_event_rule.gate["inspector2-finding"].event_pattern}"
  }

  assert {
    condition     = alltrue([for r in aws_cloudwatch_event_rule.gate : !can(jsondecode(r.event_pattern).account)])
    error_message = "no rule may pin `account` (member events must match)"
  }

  assert {
    condition     = alltrue([for r in aws_cloudwatch_event_rule.gate : length(r.event_pattern) <= 2048])
    error_message = "an event pattern is above 2048 characters"
  }

  # Targets retry, then the dead-letter queue.
  assert {
    condition     = alltrue([for t in aws_cloudwatch_event_target.gate : t.retry_policy[0].maximum_retry_attempts == 24 && length(t.dead_letter_config) == 1])
    error_message = "every target retries and has the dead-letter queue"
  }

  # IAM: the actions the code calls, on the gated repository only.
  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrReadScanResults"]).resources == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/demo-api"]) && one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrReadScanResults"]).actions == toset(["ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages"])
    error_message = "ECR read statement"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrQuarantineTagsAndScans"]).actions == toset(["ecr:BatchDeleteImage", "ecr:PutImage", "ecr:StartImageScan"])
    error_message = "ECR write statement"
  }

  # The sweep lists every repository of the account and region.
  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcrDescribeRepositories"]).resources == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/*"])
    error_message = "DescribeRepositories for the sweep"
  }

  # Review fix: ListCoverage next to ListFindings.
  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingsForEnhancedScanning"]).actions == toset(["inspector2:ListCoverage", "inspector2:ListFindings"])
    error_message = "enhanced scanning needs inspector2:ListFindings and inspector2:ListCoverage"
  }

  # The sweep's severity counts of images under enhanced scanning: no
  # resource-level permission exists for ListFindingAggregations.
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingAggregations"]).actions == toset(["inspector2:ListFindingAggregations"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "InspectorReadFindingAggregations"]).resources == toset(["*"])
    )
    error_message = "the sweep needs inspector2:ListFindingAggregations on *"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "sts:AssumeRole")]) == 0
    error_message = "no sts:AssumeRole without member accounts"
  }

  # Archive follows the policy: the default policy has no `block`, so no
  # ecr:UpdateImageStorageClass anywhere in the role.
  assert {
    condition     = length([for s in data.aws_iam_policy_document.gate.statement : s if contains(s.actions, "ecr:UpdateImageStorageClass")]) == 0
    error_message = "no ecr:UpdateImageStorageClass with the default policy (block.archive is off)"
  }

  # ECS lifecycle hook (on by default): the function reads service revisions
  # of this account and region, nothing else of ECS.
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcsDescribeServiceRevisionsForHook"]).actions == toset(["ecs:DescribeServiceRevisions"]) &&
      one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "EcsDescribeServiceRevisionsForHook"]).resources == toset(["arn:aws:ecs:ap-northeast-1:123456789012:service-revision/*"]) &&
      length([for s in data.aws_iam_policy_document.gate.statement : s if length([for a in s.actions : a if startswith(a, "ecs:")]) > 0]) == 1
    )
    error_message = "ecs:DescribeServiceRevisions on service-revision/* of this account and region, and no other ECS statement"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.gate.statement : s if s.sid == "SqsConsumeSweepQueue"]).actions == toset(["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"])
    error_message = "the event-source mapping needs to read the sweep queue"
  }

  # Function environment (the contract with the code).
  assert {
    condition     = toset(keys(aws_lambda_function.gate.environment[0].variables)) == toset(["SNS_TOPIC_ARN", "GATE_POLICY_PARAMETER", "QUARANTINE_TAG_PREFIX", "DRY_RUN", "RUST_LOG", "GATE_POLICY_REVISION", "GATE_REPOSITORIES", "SWEEP_QUEUE_URL"])
    error_message = "function environment keys: ${nonsensitive(jsonencode(keys(aws_lambda_function.gate.environment[0].variables)))}"
  }

  assert {
    condition = (
      aws_lambda_function.gate.environment[0].variables["QUARANTINE_TAG_PREFIX"] == "quarantine-" &&
      aws_lambda_function.gate.environment[0].variables["DRY_RUN"] == "false" &&
      aws_lambda_function.gate.environment[0].variables["GATE_POLICY_PARAMETER"] == "/ecr-scan-gate/policy" &&
      aws_lambda_function.gate.environment[0].variables["SWEEP_QUEUE_URL"] == "https://sqs.ap-northeast-1.amazonaws.com/123456789012/ecr-scan-gate-sweep"
    )
    error_message = "function environment values"
  }

  assert {
    condition = (
      aws_lambda_function.gate.runtime == "provided.al2023" &&
      aws_lambda_function.gate.architectures == tolist(["arm64"]) &&
      aws_lambda_function.gate.filename == "tests/fixtures/bootstrap.zip" &&
      aws_lambda_function.gate.s3_bucket == null
    )
    error_message = "function runtime, architecture, code"
  }

  # Default policy (the design: CRITICAL >= 1 fails).
  assert {
    condition     = jsondecode(aws_ssm_parameter.gate_policy.value).fail == { CRITICAL = 1 }
    error_message = "default policy"
  }

  # Dead-letter queue of asynchronous invocations, alarms.
  assert {
    condition     = length(aws_lambda_function_event_invoke_config.gate.destination_config[0].on_failure) == 1 && aws_lambda_function_event_invoke_config.gate.maximum_retry_attempts == 2
    error_message = "asynchronous failures go to the dead-letter queue"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.function_errors.metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.dlq_messages.dimensions["QueueName"] == "ecr-scan-gate-dlq" &&
      aws_cloudwatch_metric_alarm.sweep_dlq_messages[0].dimensions["QueueName"] == "ecr-scan-gate-sweep-dlq" &&
      aws_cloudwatch_metric_alarm.sweep_dlq_messages[0].threshold == 1
    )
    error_message = "alarms on function errors, the dead-letter queue and the sweep dead-letter queue"
  }

  # The sweep queue's age: the consumer is behind or failing.
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].alarm_name == "ecr-scan-gate-sweep-queue-age" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].metric_name == "ApproximateAgeOfOldestMessage" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].dimensions["QueueName"] == "ecr-scan-gate-sweep" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].period == 300 &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].threshold == 21600 &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].comparison_operator == "GreaterThanOrEqualToThreshold" &&
      aws_cloudwatch_metric_alarm.sweep_queue_age[0].treat_missing_data == "notBreaching" &&
      length(aws_cloudwatch_metric_alarm.sweep_queue_age[0].alarm_actions) == 1 &&
      length(aws_cloudwatch_metric_alarm.sweep_queue_age[0].ok_actions) == 1 &&
      strcontains(aws_cloudwatch_metric_alarm.sweep_queue_age[0].alarm_description, "sweep_max_concurrency")
    )
    error_message = "alarm on the age of the oldest sweep queue message (6 h)"
  }

  # One EMF line per sweep: SweepIncomplete (complete=false or errors).
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].alarm_name == "ecr-scan-gate-sweep-incomplete" &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].namespace == "ECRScanGate" &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].metric_name == "SweepIncomplete" &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].dimensions["FunctionName"] == "ecr-scan-gate" &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].threshold == 1 &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].comparison_operator == "GreaterThanOrEqualToThreshold" &&
      aws_cloudwatch_metric_alarm.sweep_incomplete[0].treat_missing_data == "notBreaching" &&
      length(aws_cloudwatch_metric_alarm.sweep_incomplete[0].alarm_actions) == 1 &&
      length(aws_cloudwatch_metric_alarm.sweep_incomplete[0].ok_actions) == 1
    )
    error_message = "alarm on incomplete sweeps (ECRScanGate SweepIncomplete by FunctionName)"
  }

  assert {
    condition     = toset(keys(output.alarm_arns)) == toset(["function_errors", "dlq_messages", "sweep_dlq_messages", "sweep_queue_age", "sweep_incomplete"])
    error_message = "alarm_arns keys: ${jsonencode(keys(output.alarm_arns))}"
  }

  # Sweep and report (10.4).
  assert {
    condition = (
      jsondecode(aws_scheduler_schedule.gate["sweep"].target[0].input) == { sweep = {} } &&
      jsondecode(aws_scheduler_schedule.gate["report"].target[0].input) == { report = {} } &&
      aws_scheduler_schedule.gate["sweep"].schedule_expression == "cron(0 3 * * ? *)"
    )
    error_message = "sweep and report schedules"
  }

  assert {
    condition = (
      aws_sqs_queue.sweep[0].visibility_timeout_seconds == 6 * 60 &&
      aws_sqs_queue.sweep[0].message_retention_seconds == 345600 &&
      jsondecode(aws_sqs_queue.sweep[0].redrive_policy) == { deadLetterTargetArn = "arn:aws:sqs:ap-northeast-1:123456789012:ecr-scan-gate-sweep-dlq", maxReceiveCount = 5 } &&
      aws_sqs_queue.sweep[0].kms_data_key_reuse_period_seconds == 300
    )
    error_message = "sweep queue: visibility 6 x timeout, 4 days' retention, redrive to its dead-letter queue, encrypted"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.sweep[0].function_response_types == toset(["ReportBatchItemFailures"]) &&
      aws_lambda_event_source_mapping.sweep[0].scaling_config[0].maximum_concurrency == 2 &&
      aws_lambda_event_source_mapping.sweep[0].batch_size == 5
    )
    error_message = "sweep event-source mapping"
  }

  # Dashboard on the emitted metrics.
  assert {
    condition = alltrue([
      for m in ["CriticalFindings", "HighFindings", "Quarantined", "Released", "Evaluations", "{ECRScanGate,Repository}", "{ECRScanGate,Repository,Verdict}", "\"Errors\"", "ecr-scan-gate-dlq"] :
      strcontains(aws_cloudwatch_dashboard.gate[0].dashboard_body, m)
    ])
    error_message = "the dashboard must show the EMF metrics, Lambda errors and the dead-letter queue"
  }

  # Nothing optional that changes the account.
  assert {
    condition = (
      length(aws_ecr_registry_scanning_configuration.this) == 0 &&
      length(aws_cloudwatch_event_bus.hub) == 0 && length(aws_cloudwatch_event_bus_policy.hub) == 0 &&
      length(aws_cloudwatch_event_rule.forwarded) == 0 && output.event_bus_arn == null &&
      length(aws_chatbot_slack_channel_configuration.alerts) == 0
    )
    error_message = "registry scanning, the hub bus and its policy, and Chatbot are opt-in"
  }
}

# The role ECS assumes for the lifecycle hook (ecs_hook_enabled, default on).
# The trust document gets a JSON of its own here, so that the document the role
# takes is read, not assumed (the mock renders every document alike).
run "ecs_hook_role" {
  command = plan

  override_resource {
    target          = aws_lambda_function.gate
    override_during = plan
    values = {
      arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:ecr-scan-gate"
    }
  }

  override_resource {
    target          = aws_iam_role.ecs_hook
    override_during = plan
    values = {
      id  = "ecr-scan-gate-ecs-hook"
      arn = "arn:aws:iam::123456789012:role/ecr-scan-gate-ecs-hook"
    }
  }

  override_data {
    target = data.aws_iam_policy_document.ecs_hook_assume
    values = { json = "{\"Statement\":[{\"Sid\":\"EcsAssumeRoleForLifecycleHooks\"}]}" }
  }

  # Trust: ECS only, on behalf of this account only.
  assert {
    condition = (
      length(data.aws_iam_policy_document.ecs_hook_assume[0].statement) == 1 &&
      one(data.aws_iam_policy_document.ecs_hook_assume[0].statement).effect == "Allow" &&
      one(data.aws_iam_policy_document.ecs_hook_assume[0].statement).actions == toset(["sts:AssumeRole"]) &&
      one(data.aws_iam_policy_document.ecs_hook_assume[0].statement).principals == toset([{ type = "Service", identifiers = toset(["ecs.amazonaws.com"]) }]) &&
      one(data.aws_iam_policy_document.ecs_hook_assume[0].statement).condition == toset([{ test = "StringEquals", variable = "aws:SourceAccount", values = tolist(["123456789012"]) }])
    )
    error_message = "the hook role trusts ecs.amazonaws.com of this account (aws:SourceAccount) and nothing else"
  }

  assert {
    condition     = aws_iam_role.ecs_hook[0].assume_role_policy == "{\"Statement\":[{\"Sid\":\"EcsAssumeRoleForLifecycleHooks\"}]}" && aws_iam_role.ecs_hook[0].name == "ecr-scan-gate-ecs-hook"
    error_message = "the hook role takes its trust from ecs_hook_assume"
  }

  # Permission: lambda:InvokeFunction on this function, and nothing else.
  assert {
    condition = (
      length(data.aws_iam_policy_document.ecs_hook[0].statement) == 1 &&
      one(data.aws_iam_policy_document.ecs_hook[0].statement).effect == "Allow" &&
      one(data.aws_iam_policy_document.ecs_hook[0].statement).actions == toset(["lambda:InvokeFunction"]) &&
      one(data.aws_iam_policy_document.ecs_hook[0].statement).resources == toset(["arn:aws:lambda:ap-northeast-1:123456789012:function:ecr-scan-gate"]) &&
      try(length(one(data.aws_iam_policy_document.ecs_hook[0].statement).not_actions), 0) == 0 &&
      try(length(one(data.aws_iam_policy_document.ecs_hook[0].statement).not_resources), 0) == 0
    )
    error_message = "the hook role may only lambda:InvokeFunction this function"
  }

  # One inline policy on the hook role. (Its document reads the function's ARN,
  # so Terraform renders it only at apply: tests/infra/test_ecs_hook.py checks
  # that the policy is data.aws_iam_policy_document.ecs_hook.)
  assert {
    condition     = length(aws_iam_role_policy.ecs_hook) == 1 && aws_iam_role_policy.ecs_hook[0].role == "ecr-scan-gate-ecs-hook"
    error_message = "the hook role has its one inline policy"
  }

  assert {
    condition     = output.ecs_hook_role_arn == "arn:aws:iam::123456789012:role/ecr-scan-gate-ecs-hook"
    error_message = "output ecs_hook_role_arn"
  }
}
