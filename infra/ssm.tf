# The gate's policy (GATE_POLICY_PARAMETER). Changing it needs no redeploy: edit
# var.gate_policy and apply, or put a new value with the AWS CLI. Each execution
# environment of the function reads the policy once, at cold start. An apply
# also changes GATE_POLICY_REVISION in the function's environment, which makes
# Lambda start new execution environments, so the new policy applies at once; a
# value put with the CLI only applies as environments are recycled (and the next
# apply puts var.gate_policy back).
resource "aws_ssm_parameter" "gate_policy" {
  #checkov:skip=CKV2_AWS_34:The policy is not a secret (thresholds, allowlist); the contract makes it a String parameter that the function reads without decryption.
  name        = local.gate_policy_parameter_name
  description = "${var.name}: policy document (JSON)"
  type        = "String"
  tier        = "Standard"
  value       = local.gate_policy_json
  tags        = var.tags
}

locals {
  # gate_policy_json (text, validated by make deploy) wins over gate_policy.
  gate_policy_json = var.gate_policy_json != null ? jsonencode(jsondecode(var.gate_policy_json)) : jsonencode(var.gate_policy)
}

# The Slack incoming-webhook URL (SLACK_WEBHOOK_PARAMETER), a SecureString. The
# URL is a write-only argument fed by an ephemeral variable: it is in no plan,
# state file or output.
resource "aws_ssm_parameter" "slack_webhook" {
  count = var.slack_webhook_enabled && var.create_slack_webhook_parameter ? 1 : 0

  name             = local.slack_webhook_parameter_name
  description      = "${var.name}: Slack incoming-webhook URL (secret)"
  type             = "SecureString"
  tier             = "Standard"
  key_id           = aws_kms_key.this.arn
  value_wo         = var.slack_webhook_url
  value_wo_version = var.slack_webhook_url_version
  tags             = var.tags

  lifecycle {
    precondition {
      condition     = var.slack_webhook_url != null
      error_message = "Set slack_webhook_url (e.g. TF_VAR_slack_webhook_url) on every plan and apply while slack_webhook_enabled and create_slack_webhook_parameter are true; without it the provider would read the URL back into the state."
    }
  }
}
