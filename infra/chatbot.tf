# Optional AWS Chatbot Slack channel subscribed to the alert topic. What it is
# for: the gate's CloudWatch alarms (function errors, dead-letter queues,
# sweep), which Chatbot shows with their graphs, and reading the gate's logs
# and alarms from the channel. It does not show the gate's own alerts (FAIL,
# ERROR, quarantines): they are published in a format Chatbot does not display
# (use slack_webhook_enabled for them). The Slack workspace must first be
# authorized once in the Chatbot console.
#
# Least privilege: the channel role and (unless guardrail_policy_arns replaces
# it) the guardrail are one read-only policy of this module, on the function's
# log group and the gate's alarms and metrics only; and each Slack user acts
# with a role of their own (user_authorization_required), not the channel's.

locals {
  chatbot_enabled = var.chatbot_slack != null
  # Never empty (the variable refuses []): Chatbot would apply AdministratorAccess.
  chatbot_guardrail_policy_arns = local.chatbot_enabled ? coalesce(
    var.chatbot_slack.guardrail_policy_arns,
    [aws_iam_policy.chatbot_read_only[0].arn],
  ) : []

  # The gate's alarms (alarms.tf): every name starts with "<name>-".
  gate_alarm_arn_pattern = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"
}

data "aws_iam_policy_document" "chatbot_assume" {
  count = local.chatbot_enabled ? 1 : 0

  statement {
    sid     = "ChatbotAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["chatbot.amazonaws.com"]
    }

    # On behalf of this account's channel configurations only.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Read-only, the gate only. CloudWatch has no resource-level permission for
# metric data (GetMetricData, GetMetricStatistics, GetMetricWidgetImage,
# ListMetrics): those are on "*", as in every read-only CloudWatch policy;
# alarms and logs are the gate's own.
data "aws_iam_policy_document" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  statement {
    sid    = "ReadGateAlarms"
    effect = "Allow"
    actions = [
      "cloudwatch:DescribeAlarmHistory",
      "cloudwatch:DescribeAlarms",
    ]
    resources = [local.gate_alarm_arn_pattern]
  }

  statement {
    sid    = "ReadMetricsForAlarmGraphs"
    effect = "Allow"
    actions = [
      "cloudwatch:GetMetricData",
      "cloudwatch:GetMetricStatistics",
      "cloudwatch:GetMetricWidgetImage",
      "cloudwatch:ListMetrics",
    ]
    resources = ["*"]
  }

  # The function's log group, and no other. (No Logs Insights query: reading
  # its results, logs:GetQueryResults, cannot be limited to one log group.)
  statement {
    sid    = "ReadGateLogs"
    effect = "Allow"
    actions = [
      "logs:DescribeLogStreams",
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
    ]
    resources = [local.log_group_arn, "${local.log_group_arn}:*"]
  }
}

resource "aws_iam_policy" "chatbot_read_only" {
  count = local.chatbot_enabled ? 1 : 0

  name        = "${var.name}-chatbot-read-only"
  path        = var.role_path
  description = "AWS Chatbot channel of ${var.name}: read the gate's alarms, metrics and logs, nothing else"
  policy      = data.aws_iam_policy_document.chatbot[0].json
  tags        = var.tags
}

resource "aws_iam_role" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  name                 = "${var.name}-chatbot"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "AWS Chatbot channel role of the ${var.name} alerts"
  assume_role_policy   = data.aws_iam_policy_document.chatbot_assume[0].json
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  role       = aws_iam_role.chatbot[0].name
  policy_arn = aws_iam_policy.chatbot_read_only[0].arn
}

resource "aws_chatbot_slack_channel_configuration" "alerts" {
  count = local.chatbot_enabled ? 1 : 0

  configuration_name = "${var.name}-alerts"
  iam_role_arn       = aws_iam_role.chatbot[0].arn
  slack_team_id      = var.chatbot_slack.team_id
  slack_channel_id   = var.chatbot_slack.channel_id
  sns_topic_arns     = [aws_sns_topic.alerts.arn]
  logging_level      = var.chatbot_slack.logging_level

  # Explicit guardrail: without one, Chatbot applies AdministratorAccess.
  guardrail_policy_arns       = local.chatbot_guardrail_policy_arns
  user_authorization_required = var.chatbot_slack.user_authorization_required

  tags = var.tags
}
