# Customer-managed key for the alert topic, the dead-letter queues, the log
# group, the policy parameter and the Slack webhook parameter. An encrypted
# topic must use such a key: the AWS-managed alias/aws/sns cannot be used by
# CloudWatch alarm actions.
#
# The policy parameter decides what gets quarantined across the organisation:
# only the identity that applies this configuration and var.policy_writer_arns
# may encrypt a value for it (DenyPolicyParameterWritesExceptWriters), so an
# `ssm:PutParameter` by anyone else fails even with SSM permissions. Reading
# needs only kms:Decrypt through SSM, which the function's role has (iam.tf).

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the first statement is AWS's default that delegates to IAM policies.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; service statements are limited to the actions each service needs.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only.
  statement {
    sid       = "EnableIamPolicies"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Only the writers may encrypt the policy parameter's value. SSM encrypts a
  # SecureString with the caller's permissions (forward access), always with the
  # parameter's ARN as encryption context: Encrypt for the Standard tier,
  # GenerateDataKey for Advanced; ReEncrypt could produce the same ciphertext.
  # Denied unless the caller is the identity that applies (aws:userid) or one
  # of var.policy_writer_arns (aws:PrincipalArn): both conditions must hold for
  # the deny, so either identity escapes it.
  statement {
    sid    = "DenyPolicyParameterWritesExceptWriters"
    effect = "Deny"
    actions = [
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:PARAMETER_ARN"
      values   = [local.gate_policy_parameter_arn]
    }

    condition {
      test     = "StringNotLike"
      variable = "aws:userid"
      values   = [local.policy_writer_user_id]
    }

    dynamic "condition" {
      for_each = length(local.policy_writer_arns_list) > 0 ? [1] : []

      content {
        test     = "ArnNotEquals"
        variable = "aws:PrincipalArn"
        values   = local.policy_writer_arns_list
      }
    }
  }

  # CloudWatch alarm actions of this account publish to the encrypted topic.
  statement {
    sid       = "AllowCloudWatchAlarms"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # EventBridge sends undeliverable events to the encrypted dead-letter queue.
  statement {
    sid       = "AllowEventBridgeRules"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.event_rule_arn_pattern]
    }
  }

  # CloudWatch Logs encrypts the function's log group.
  statement {
    sid    = "AllowCloudWatchLogs"
    effect = "Allow"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.log_group_arn]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: alert topic, queues, logs, policy and Slack webhook parameters"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
