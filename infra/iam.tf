# The function's role, least privilege. The ECR, SNS and SSM actions below are
# exactly the AWS operations the code calls (src/aws/ecr.rs, sns.rs, ssm.rs);
# tests/infra/test_iam_matches_code.py fails when the two drift apart.

data "aws_iam_policy_document" "gate_assume" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "gate" {
  name               = "${var.name}-function"
  description        = "Execution role of the ${var.name} function"
  assume_role_policy = data.aws_iam_policy_document.gate_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "gate" {
  # Read the scan result and the image (basic and enhanced findings, manifest).
  statement {
    sid    = "EcrReadScanResults"
    effect = "Allow"
    actions = [
      "ecr:BatchGetImage",
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
    ]
    resources = values(local.gated_repository_arns)
  }

  # Add the quarantine tag (PutImage of the same manifest) and remove tags
  # (quarantine release, configured deployable tags).
  statement {
    sid    = "EcrQuarantineTags"
    effect = "Allow"
    actions = [
      "ecr:BatchDeleteImage",
      "ecr:PutImage",
    ]
    resources = values(local.gated_repository_arns)
  }

  statement {
    sid       = "SnsPublishAlerts"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  # The policy and, when Slack is on, the webhook URL.
  statement {
    sid     = "SsmReadParameters"
    effect  = "Allow"
    actions = ["ssm:GetParameter"]
    resources = concat(
      [aws_ssm_parameter.gate_policy.arn],
      var.slack_webhook_enabled ? [local.slack_webhook_parameter_arn] : [],
    )
  }

  # The module's key: publish to the encrypted topic, send to the encrypted
  # queue, decrypt the SecureString.
  statement {
    sid    = "KmsUseModuleKey"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    ]
    resources = [aws_kms_key.this.arn]
  }

  # On-failure destination of asynchronous invocations.
  statement {
    sid       = "SqsSendToDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # Logs, including the EMF metrics. The log group is created by Terraform.
  statement {
    sid    = "LogsWriteFunctionLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.gate.arn}:*"]
  }

  # ECR's DescribeImageScanFindings reads enhanced (Inspector) findings with
  # the caller's permissions. ListFindings has no resource-level permissions.
  dynamic "statement" {
    for_each = var.enable_enhanced_scanning ? [1] : []

    content {
      sid       = "InspectorReadFindingsForEnhancedScanning"
      effect    = "Allow"
      actions   = ["inspector2:ListFindings"]
      resources = ["*"]
    }
  }

  # X-Ray, only with tracing_mode = "Active". No resource-level permissions.
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []

    content {
      sid    = "XRayWriteTraces"
      effect = "Allow"
      actions = [
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "gate" {
  name   = "${var.name}-least-privilege"
  role   = aws_iam_role.gate.id
  policy = data.aws_iam_policy_document.gate.json
}
