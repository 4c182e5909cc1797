# Optional AWS Chatbot Slack channel subscribed to the alert topic, instead of
# (or besides) the function's own webhook. The Slack workspace must first be
# authorized once in the Chatbot console.

locals {
  chatbot_enabled = var.chatbot_slack != null
  # Never empty (the variable refuses []): Chatbot would apply AdministratorAccess.
  chatbot_guardrail_policy_arns = local.chatbot_enabled ? coalesce(
    var.chatbot_slack.guardrail_policy_arns,
    ["arn:${local.partition}:iam::aws:policy/CloudWatchReadOnlyAccess"],
  ) : []
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
  }
}

# The channel role: read-only CloudWatch, so that Chatbot can draw the alarm
# graphs. Nothing else.
resource "aws_iam_role" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  name               = "${var.name}-chatbot"
  description        = "AWS Chatbot channel role of the ${var.name} alerts"
  assume_role_policy = data.aws_iam_policy_document.chatbot_assume[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  role       = aws_iam_role.chatbot[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/CloudWatchReadOnlyAccess"
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
  user_authorization_required = false

  tags = var.tags
}
