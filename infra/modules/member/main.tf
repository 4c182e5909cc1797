# A member account of the gate, one instance per account and region:
#   - the role the hub's gate function assumes to read and tag images here
#     (create_role: once per account, IAM is global);
#   - an EventBridge rule that forwards this region's scan events to the hub's
#     default event bus, with the role EventBridge needs for it.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Every region: the role serves the forwarding rules of all of them.
  repository_arns = [for g in var.gated_repository_patterns : "arn:${local.partition}:ecr:*:${local.account_id}:repository/${g}"]

  # The ECR actions of the hub's own role (the operations the gate calls);
  # UpdateImageStorageClass only when the hub's policy archives (archive_enabled).
  gate_ecr_actions = concat(
    [
      "ecr:BatchDeleteImage",
      "ecr:BatchGetImage",
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
      "ecr:PutImage",
      "ecr:StartImageScan",
    ],
    var.archive_enabled ? ["ecr:UpdateImageStorageClass"] : [],
  )

  # Each pattern as JSON text: the patterns differ in shape, and each branch of
  # a conditional must have one type.
  forwarded_rules = merge(
    {
      ecr-image-scan = jsonencode({
        source        = ["aws.ecr"]
        "detail-type" = ["ECR Image Scan"]
      })
    },
    var.forward_enhanced_scanning_events ? {
      inspector2-scan = jsonencode({
        source        = ["aws.inspector2"]
        "detail-type" = ["Inspector2 Scan"]
        resources     = [{ prefix = "arn:${local.partition}:ecr:" }]
        detail        = { "scan-status" = ["INITIAL_SCAN_COMPLETE"] }
      })
      inspector2-finding = jsonencode({
        source        = ["aws.inspector2"]
        "detail-type" = ["Inspector2 Finding"]
        detail = {
          status    = ["ACTIVE"]
          severity  = var.inspector_finding_severities
          resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] }
        }
      })
    } : {},
  )
}

###############################################################################
# The role the gate assumes
###############################################################################

data "aws_iam_policy_document" "member_assume" {
  statement {
    sid     = "TrustTheGateFunctionOnly"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.hub_role_arn]
    }

    dynamic "condition" {
      for_each = var.external_id == null ? [] : [1]

      content {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [var.external_id]
      }
    }
  }
}

data "aws_iam_policy_document" "member" {
  statement {
    sid       = "EcrGateActions"
    effect    = "Allow"
    actions   = local.gate_ecr_actions
    resources = local.repository_arns
  }

  # The sweep lists the repositories (DescribeRepositories without names) and
  # picks the gated ones; metadata only.
  statement {
    sid       = "EcrDescribeRepositories"
    effect    = "Allow"
    actions   = ["ecr:DescribeRepositories"]
    resources = ["arn:${local.partition}:ecr:*:${local.account_id}:repository/*"]
  }

  # Inspector's counts and in-use numbers, read with the member role: the
  # sweep's counts under enhanced scanning, and whether an image runs before
  # block.archive "unused" archives it. Denied, the gate would take an image
  # Inspector sees running for one nobody uses. Read-only; no resource-level
  # permissions.
  statement {
    sid       = "InspectorReadFindingAggregations"
    effect    = "Allow"
    actions   = ["inspector2:ListFindingAggregations"]
    resources = ["*"]
  }

  # DescribeImageScanFindings on enhanced scanning reads Inspector with the
  # caller's permissions; no resource-level permissions.
  dynamic "statement" {
    for_each = var.forward_enhanced_scanning_events ? [1] : []

    content {
      sid       = "InspectorReadFindingsForEnhancedScanning"
      effect    = "Allow"
      actions   = ["inspector2:ListCoverage", "inspector2:ListFindings"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role" "member" {
  count = var.create_role ? 1 : 0

  name                 = var.role_name
  description          = "Assumed by the ecr-scan-gate function of the hub account to read and tag images here"
  assume_role_policy   = data.aws_iam_policy_document.member_assume.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "member" {
  count = var.create_role ? 1 : 0

  name   = "${var.role_name}-ecr"
  role   = aws_iam_role.member[0].id
  policy = data.aws_iam_policy_document.member.json
}

###############################################################################
# Forward this region's scan events to the hub
###############################################################################

data "aws_iam_policy_document" "forwarder_assume" {
  statement {
    sid     = "EventBridgeAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "forwarder" {
  statement {
    sid       = "PutEventsOnHubBus"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [var.hub_event_bus_arn]
  }
}

resource "aws_iam_role" "forwarder" {
  name               = "${var.name}-forward-${local.region}"
  description        = "EventBridge: forwards ECR scan events of ${local.region} to the ecr-scan-gate hub"
  assume_role_policy = data.aws_iam_policy_document.forwarder_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "forwarder" {
  name   = "put-events-on-hub-bus"
  role   = aws_iam_role.forwarder.id
  policy = data.aws_iam_policy_document.forwarder.json
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each = local.forwarded_rules

  name          = "${var.name}-forward-${each.key}"
  description   = "Forward ${each.key} events to the ecr-scan-gate hub bus"
  event_pattern = each.value
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each = aws_cloudwatch_event_rule.forward

  rule      = each.value.name
  target_id = "ecr-scan-gate-hub"
  arn       = var.hub_event_bus_arn
  role_arn  = aws_iam_role.forwarder.arn

  retry_policy {
    maximum_retry_attempts       = 24
    maximum_event_age_in_seconds = 3600
  }
}
