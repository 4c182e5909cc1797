# The gate's policy (GATE_POLICY_PARAMETER), a SecureString under the gate's
# key. The policy is no secret, but it decides what gets quarantined across the
# organisation: the key lets only the identity that applies this configuration
# and var.policy_writer_arns encrypt its value (kms.tf), so a principal with
# ssm:PutParameter alone cannot rewrite it. Each execution environment of the
# function reads the policy once, at cold start (GetParameter, decrypted). An
# apply also changes GATE_POLICY_REVISION in the function's environment, the
# first 16 hex digits of the SHA-256 of the JSON text stored here, which makes
# Lambda start new execution environments, so the new policy applies at once.
# The function compares the text it reads with GATE_POLICY_REVISION: on a
# mismatch (a value put outside Terraform, e.g. by a policy writer with the AWS
# CLI) it keeps judging with the document it read and alerts once per
# execution environment that the policy was changed outside Terraform; the
# next apply puts var.gate_policy back.
#
# Tier: Standard holds 4096 bytes, Advanced 8192 (and costs money). Terraform
# picks Advanced only when the document as stored exceeds 4096 bytes. AWS cannot
# turn an Advanced parameter back into a Standard one: when a policy shrinks
# below the limit again, the provider replaces the parameter (delete, then
# create): an invocation that starts in that second fails and is retried, and
# the same apply then updates the function (GATE_POLICY_REVISION), whose new
# execution environments read the new parameter.
resource "aws_ssm_parameter" "gate_policy" {
  name        = local.gate_policy_parameter_name
  description = "${var.name}: policy document (JSON); written only by Terraform's identity and policy_writer_arns"
  type        = "SecureString"
  key_id      = aws_kms_key.this.arn
  tier        = local.gate_policy_tier
  value       = local.gate_policy_json
  tags        = var.tags

  lifecycle {
    # The variables' validations count the characters given; this counts the
    # bytes stored (jsonencode writes <, > and & as \u003c..., and a non-ASCII
    # character takes 2 to 4 bytes).
    precondition {
      condition     = local.gate_policy_bytes <= local.ssm_advanced_value_limit
      error_message = "The policy is ${local.gate_policy_bytes} bytes as stored (JSON-encoded: <, > and & take 6 characters each, a non-ASCII character 2 to 4 bytes): above 8192 bytes, the limit of an SSM Advanced parameter. Shorten it, or move allowlist entries to team exception documents (exceptions_parameter_path)."
    }
  }
}

locals {
  # gate_policy_json (text, validated by make deploy) wins over gate_policy.
  gate_policy_json = var.gate_policy_json != null ? jsonencode(jsondecode(var.gate_policy_json)) : jsonencode(var.gate_policy)

  # SSM value limits, in bytes: Standard 4 KB, Advanced 8 KB.
  ssm_standard_value_limit = 4096
  ssm_advanced_value_limit = 8192

  # UTF-8 length of the stored document: Terraform's length() counts
  # characters, base64 counts bytes (3 bytes per 4 characters, less the padding).
  gate_policy_base64 = base64encode(local.gate_policy_json)
  gate_policy_bytes  = length(local.gate_policy_base64) / 4 * 3 - length(regexall("=", local.gate_policy_base64))
  gate_policy_tier   = local.gate_policy_bytes > local.ssm_standard_value_limit ? "Advanced" : "Standard"
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
