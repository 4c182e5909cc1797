# One team's exceptions document for the gate (EXCEPTIONS_PARAMETER_PATH), and
# the IAM policy that lets that team write it and nothing else:
#   - the SSM parameter `<path><team>`, seeded with var.document; the team owns
#     its value from then on (lifecycle ignore_changes);
#   - a managed IAM policy: ssm:PutParameter and ssm:GetParameter on that one
#     parameter's ARN (and, with the gate's KMS key, that key through SSM for
#     that parameter only), attached to the team's role when role_name is set.
# The gate function reads every parameter under the path with its own grant
# (the gate module's exceptions_parameter_path); nothing here touches it.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  parameter_name = "${var.path}${var.team}"
  # Known at plan (not aws_ssm_parameter.this.arn), so that the policy can be
  # read before apply.
  parameter_arn = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.parameter_name}"

  document_json = jsonencode(var.document)
  # Standard holds 4096 bytes; above, Advanced (billed by AWS). Bytes, not
  # characters: base64 counts them.
  document_base64 = base64encode(local.document_json)
  document_bytes  = length(local.document_base64) / 4 * 3 - length(regexall("=", local.document_base64))

  # The policy as JSON text rendered here rather than by aws_iam_policy_document,
  # so that the statements the team gets can be read in the plan.
  write_statement = {
    Sid      = "WriteOwnExceptionsDocument"
    Effect   = "Allow"
    Action   = ["ssm:GetParameter", "ssm:PutParameter"]
    Resource = local.parameter_arn
  }
  # SSM encrypts a SecureString with the caller's permissions on the key:
  # Encrypt (Standard tier) or GenerateDataKey (Advanced) to write it, Decrypt to
  # read it back, always with the parameter's ARN as encryption context.
  kms_statement = {
    Sid      = "UseGateKeyForOwnExceptionsDocument"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    Resource = var.kms_key_arn
    Condition = {
      StringEquals = {
        "kms:ViaService"                      = "ssm.${local.region}.amazonaws.com"
        "kms:EncryptionContext:PARAMETER_ARN" = local.parameter_arn
      }
    }
  }
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.write_statement], var.kms_key_arn == null ? [] : [local.kms_statement])
  })
}

resource "aws_ssm_parameter" "this" {
  #checkov:skip=CKV2_AWS_34:Exception documents (repository globs, CVE ids, VEX statements) are not secrets; type = SecureString encrypts one when a team wants it.
  name        = local.parameter_name
  description = "ecr-scan-gate: exceptions of team ${var.team} (JSON; written by the team)"
  type        = var.type
  key_id      = var.type == "SecureString" ? var.kms_key_arn : null
  tier        = local.document_bytes > 4096 ? "Advanced" : "Standard"
  value       = local.document_json
  tags        = var.tags

  lifecycle {
    # The team writes its document (and, for one above 4 KB, the Advanced tier)
    # itself: an apply must not put the seed back, nor replace the parameter to
    # make it Standard again.
    ignore_changes = [value, tier]
  }
}

resource "aws_iam_policy" "this" {
  name        = "${var.policy_name_prefix}-${var.team}"
  description = "Write the ecr-scan-gate exceptions document ${local.parameter_name}, and nothing else"
  policy      = local.policy
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  count = var.role_name == null ? 0 : 1

  role       = var.role_name
  policy_arn = aws_iam_policy.this.arn
}
