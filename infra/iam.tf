# The function's role, least privilege. The ECR, SNS, SSM, SQS, Inspector and
# ECS actions below are exactly the AWS operations the code calls
# (src/adapters/aws/ecr.rs, sns.rs, ssm.rs, sqs.rs, inspector*.rs, ecs*.rs),
# besides Lambda's own use of the role and what ECR needs for enhanced findings;
# tests/infra/test_iam_matches_code.py fails when the two drift apart. Some
# follow an option: ecr:UpdateImageStorageClass the policy's block.archive,
# ecs:DescribeServiceRevisions var.ecs_hook_enabled,
# inspector2:ListFindingAggregations the sweep or block.archive = "unused",
# ssm:GetParametersByPath var.exceptions_parameter_path.

locals {
  # The policy's block.archive: "off" (absent, null, or no `block`), "unused" or
  # "always". Read from the policy as stored (gate_policy_json or gate_policy),
  # so the grant follows the policy the function reads. The function refuses a
  # value it does not know; here anything but "off" grants.
  gate_archive         = try(coalesce(jsondecode(local.gate_policy_json).block.archive, "off"), "off")
  gate_archive_enabled = local.gate_archive != "off"
  # "unused" archives only an image not in use: Inspector's inUseCount is asked.
  gate_archive_checks_use = local.gate_archive == "unused"

  # The policy's `vex` entries of the form {"parameter": "/name"}: SSM
  # parameters the function reads at start (GetParameter, decrypted), read from
  # the policy as stored like block.archive. A name is a parameter of this
  # account and region, or a full ARN (a shared parameter).
  gate_vex_parameter_names = distinct(try([for v in jsondecode(local.gate_policy_json).vex : tostring(v.parameter) if try(length(tostring(v.parameter)) > 0, false)], []))
  gate_vex_parameter_arns = [
    for n in local.gate_vex_parameter_names :
    startswith(n, "arn:") ? n : "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(n, "/")}"
  ]
}

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
  name                 = "${var.name}-function"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "Execution role of the ${var.name} function"
  assume_role_policy   = data.aws_iam_policy_document.gate_assume.json
  tags                 = var.tags
}

data "aws_iam_policy_document" "gate" {
  # Read the scan result and the image (basic and enhanced findings, manifest,
  # per-image scan summary of the sweep). ECR statements cover the gated
  # repositories in every region the gate serves (var.gate_regions).
  statement {
    sid    = "EcrReadScanResults"
    effect = "Allow"
    actions = [
      "ecr:BatchGetImage",
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
    ]
    resources = local.gated_repository_arns
  }

  # Add the quarantine tag (PutImage of the same manifest) and remove tags
  # (quarantine release, configured deployable tags); the sweep starts the scan
  # of an image that has none (`start_scans`).
  statement {
    sid    = "EcrQuarantineTagsAndScans"
    effect = "Allow"
    actions = [
      "ecr:BatchDeleteImage",
      "ecr:PutImage",
      "ecr:StartImageScan",
    ]
    resources = local.gated_repository_arns
  }

  # Archive (policy block.archive "unused" or "always"): move a failing image
  # to the ARCHIVE storage class, where it cannot be pulled, and back to
  # STANDARD on release. Scoped as PutImage; absent while the policy does not
  # archive.
  dynamic "statement" {
    for_each = local.gate_archive_enabled ? [1] : []

    content {
      sid       = "EcrArchiveImages"
      effect    = "Allow"
      actions   = ["ecr:UpdateImageStorageClass"]
      resources = local.gated_repository_arns
    }
  }

  # DescribeRepositories: the gated repositories, and with a sweep every
  # repository of the account in the regions the gate serves, since the sweep
  # lists them all (DescribeRepositories without names) and picks the gated ones
  # by glob. It reveals repository metadata only, no image and no finding.
  statement {
    sid       = "EcrDescribeRepositories"
    effect    = "Allow"
    actions   = ["ecr:DescribeRepositories"]
    resources = local.sweep_can_run ? local.all_repository_arns : local.gated_repository_arns
  }

  statement {
    sid       = "SnsPublishAlerts"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  # The policy, when Slack is on the webhook URL, and the OpenVEX documents
  # the policy names as parameters (`vex: [{"parameter": "/name"}]`).
  statement {
    sid     = "SsmReadParameters"
    effect  = "Allow"
    actions = ["ssm:GetParameter"]
    resources = concat(
      [aws_ssm_parameter.gate_policy.arn],
      var.slack_webhook_enabled ? [local.slack_webhook_parameter_arn] : [],
      local.gate_vex_parameter_arns,
    )
  }

  # Team exception documents (exceptions_parameter_path): every parameter under
  # the path, read recursively with GetParametersByPath, which is authorised
  # against the requested path (main.tf, exceptions_parameter_path_arns). No KMS
  # grant of its own: a SecureString there is encrypted with the AWS-managed
  # aws/ssm key, whose key policy lets every principal of the account decrypt
  # through SSM, or with this module's key, which KmsDecryptParameters below
  # covers.
  dynamic "statement" {
    for_each = local.exceptions_enabled ? [1] : []

    content {
      sid       = "SsmReadTeamExceptions"
      effect    = "Allow"
      actions   = ["ssm:GetParametersByPath"]
      resources = local.exceptions_parameter_path_arns
    }
  }

  # The module's key, only through the services that hold data under it:
  # decrypt the SecureStrings (the policy, the Slack webhook URL, team
  # documents) through SSM; publish to the encrypted topic, send to and read
  # the encrypted queues through SNS and SQS. Never to encrypt a parameter.
  statement {
    sid       = "KmsDecryptParameters"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid    = "KmsUseModuleKey"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    ]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com"]
    }
  }

  # On-failure destination of asynchronous invocations.
  statement {
    sid       = "SqsSendToDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # The sweep enqueues its images (SendMessageBatch is authorised by
  # sqs:SendMessage), and the event-source mapping, which runs with this role,
  # reads and deletes them.
  dynamic "statement" {
    for_each = var.sweep_queue_enabled ? [1] : []

    content {
      sid       = "SqsSendSweepMessages"
      effect    = "Allow"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.sweep[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.sweep_queue_enabled ? [1] : []

    content {
      sid    = "SqsConsumeSweepQueue"
      effect = "Allow"
      actions = [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
      ]
      resources = [aws_sqs_queue.sweep[0].arn]
    }
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
  # the caller's permissions: the ECR guide's "IAM permissions required for
  # enhanced scanning" are ListFindings and ListCoverage. Neither has
  # resource-level permissions.
  dynamic "statement" {
    for_each = var.gate_enhanced_scanning_events ? [1] : []

    content {
      sid    = "InspectorReadFindingsForEnhancedScanning"
      effect = "Allow"
      actions = [
        "inspector2:ListCoverage",
        "inspector2:ListFindings",
      ]
      resources = ["*"]
    }
  }

  # ListFindingAggregations (aggregationType AWS_ECR_CONTAINER, filtered by
  # repository) answers per image under enhanced scanning its severity counts,
  # which the sweep reads, and its inUseCount, which keeps block.archive =
  # "unused" from archiving an image in use (without the permission, Inspector
  # would look silent and the image be archived). Granted whenever the sweep
  # can run (as the sweep's DescribeRepositories above) or the policy archives
  # unused images. Inspector has no resource-level permission for
  # ListFindingAggregations: the resource can only be "*".
  dynamic "statement" {
    for_each = local.sweep_can_run || local.gate_archive_checks_use ? [1] : []

    content {
      sid       = "InspectorReadFindingAggregations"
      effect    = "Allow"
      actions   = ["inspector2:ListFindingAggregations"]
      resources = ["*"]
    }
  }

  # ECS deployment lifecycle hook (ecs_hook_enabled): the function reads the
  # images (name and resolved digest) of the service revision ECS is about to
  # roll out. Service revisions of this account and region only: the hook role
  # (ecs_hook.tf) serves this account's services.
  dynamic "statement" {
    for_each = var.ecs_hook_enabled ? [1] : []

    content {
      sid       = "EcsDescribeServiceRevisionsForHook"
      effect    = "Allow"
      actions   = ["ecs:DescribeServiceRevisions"]
      resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:service-revision/*"]
    }
  }

  # Member accounts: the function assumes the member role of the
  # event's account (aws-config's AssumeRoleProvider; no explicit AWS call in
  # src/adapters/aws). With the whole organisation, any account of it.
  dynamic "statement" {
    for_each = local.member_mode ? [1] : []

    content {
      sid       = "StsAssumeMemberRoles"
      effect    = "Allow"
      actions   = ["sts:AssumeRole"]
      resources = local.member_role_arns

      dynamic "condition" {
        for_each = local.member_org_wide ? [var.organization_id] : []

        content {
          test     = "StringEquals"
          variable = "aws:ResourceOrgID"
          values   = [condition.value]
        }
      }
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
