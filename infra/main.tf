# Shared lookups and names. Each concern has its own file:
#   ecr.tf      the design's repositories (sections 2-4)
#   repositories.tf  which repositories are gated: names, globs, or all
#   lambda.tf   the function, its log group and asynchronous invocation settings
#   events.tf   EventBridge rules and targets
#   sns.tf      alert topic, e-mail subscriptions
#   chatbot.tf  optional AWS Chatbot Slack channel
#   ssm.tf      policy and Slack webhook parameters
#   sqs.tf      dead-letter queue
#   kms.tf      customer-managed key (topic, queue, logs, webhook)
#   iam.tf      the function's role
#   alarms.tf   CloudWatch alarms

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The regions the gate serves: its own, always, and those of var.gate_regions.
  # ECR grants (iam.tf) cover each; events of another region reach the function
  # through the hub bus (members.tf), forwarded there by modules/member.
  gate_regions = distinct(concat([local.region], var.gate_regions == null ? [] : var.gate_regions))

  gate_policy_parameter_name   = coalesce(var.gate_policy_parameter_name, "/${var.name}/policy")
  gate_policy_parameter_arn    = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(local.gate_policy_parameter_name, "/")}"
  slack_webhook_parameter_name = coalesce(var.slack_webhook_parameter_name, "/${var.name}/slack-webhook-url")
  slack_webhook_parameter_arn  = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(local.slack_webhook_parameter_name, "/")}"

  # Team exception documents (EXCEPTIONS_PARAMETER_PATH). GetParametersByPath is
  # authorised against the path of the request, not the parameters it returns:
  # the path itself, written with or without its trailing slash, and the paths
  # under it. Nothing outside it, not even a sibling that shares its prefix
  # (/x/exceptions-other).
  exceptions_enabled = var.exceptions_parameter_path != null
  exceptions_parameter_path_arns = local.exceptions_enabled ? [
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${trimsuffix(var.exceptions_parameter_path, "/")}",
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${var.exceptions_parameter_path}*",
  ] : []

  # Who may write the policy parameter (kms.tf denies everyone else the
  # encryption of its value under the gate's key): the identity that applies
  # this configuration, by its unique id (aws:userid: "AROA...:*" for every
  # session of a role, whatever the role's path; "AIDA..." for a user), and the
  # IAM principals of var.policy_writer_arns.
  caller_arn              = data.aws_caller_identity.current.arn
  caller_user_id          = data.aws_caller_identity.current.user_id
  policy_writer_user_id   = strcontains(local.caller_arn, ":assumed-role/") ? "${split(":", local.caller_user_id)[0]}:*" : local.caller_user_id
  policy_writer_arns_list = var.policy_writer_arns == null ? [] : var.policy_writer_arns

  log_group_name = "/aws/lambda/${var.name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  # EventBridge rule ARNs, known before the rules exist (the key policy needs them).
  event_rule_arn_pattern = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}-*"

  # Namespace of the CloudWatch Embedded Metric Format metrics the function emits.
  metrics_namespace = "ECRScanGate"
}
