# A member account of the gate, one instance per account and region:
#   - the role the hub's gate function assumes to read and tag images here
#     (create_role: once per account, IAM is global), on the repositories of
#     repository_patterns in the regions of role_regions only;
#   - EventBridge rules that forward this region's scan events of those
#     repositories, and of no other, to the hub bus (the hub's output
#     event_bus_arn), with the role EventBridge needs for it;
#   - a dead-letter queue for the events the rules could not deliver, and an
#     alarm on it: such an event was never judged.
# The same module forwards the hub account's own other regions (create_role =
# false there).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The role's regions: role_regions, or this instance's region.
  role_regions = var.role_regions == null ? [local.region] : var.role_regions

  repository_arns = flatten([
    for r in local.role_regions : [for g in var.repository_patterns : "arn:${local.partition}:ecr:${r}:${local.account_id}:repository/${g}"]
  ])
  all_repository_arns = [for r in local.role_regions : "arn:${local.partition}:ecr:${r}:${local.account_id}:repository/*"]

  # role_name may carry an IAM path, like the hub's MEMBER_ROLE_NAME
  # ("security/ecr-scan-gate-member": the role ecr-scan-gate-member under the
  # path /security/), so that arn:...:role/<role_name> is the role's ARN.
  role_name_segments = split("/", var.role_name)
  role_base_name     = element(local.role_name_segments, length(local.role_name_segments) - 1)
  role_name_path     = length(local.role_name_segments) > 1 ? "/${join("/", slice(local.role_name_segments, 0, length(local.role_name_segments) - 1))}/" : "/"

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

  # Which repositories' events are forwarded: repository_patterns as
  # EventBridge matchers, as the hub does it (a single trailing `*` is a
  # prefix, any other `*` a wildcard, no `*` an exact name; "*" alone: every
  # repository, no filter).
  all_repositories = contains(var.repository_patterns, "*")
  exact_names      = [for p in var.repository_patterns : p if !strcontains(p, "*")]
  name_prefixes    = [for p in var.repository_patterns : trimsuffix(p, "*") if p != "*" && endswith(p, "*") && length(split("*", p)) == 2]
  name_wildcards   = [for p in var.repository_patterns : p if strcontains(p, "*") && p != "*" && !(endswith(p, "*") && length(split("*", p)) == 2)]
  repository_name_matchers = concat(
    local.exact_names,
    [for p in local.name_prefixes : { prefix = p }],
    [for w in local.name_wildcards : { wildcard = w }],
  )
  # Inspector2 Scan names the repository by ARN in `resources` (this account
  # and region).
  repository_arn_prefix = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/"
  repository_arn_matchers = concat(
    [for p in(local.all_repositories ? ["arn:${local.partition}:ecr:"] : []) : { prefix = p }],
    [for n in(local.all_repositories ? [] : local.exact_names) : "${local.repository_arn_prefix}${n}"],
    [for p in(local.all_repositories ? [] : local.name_prefixes) : { prefix = "${local.repository_arn_prefix}${p}" }],
    [for w in(local.all_repositories ? [] : local.name_wildcards) : { wildcard = "${local.repository_arn_prefix}${w}" }],
  )

  # Each pattern as JSON text: the patterns differ in shape, and each branch of
  # a conditional must have one type. With "*" alone, no repository filter.
  ecr_image_scan_pattern_all = {
    source        = ["aws.ecr"]
    "detail-type" = ["ECR Image Scan"]
  }
  ecr_image_scan_pattern = merge(local.ecr_image_scan_pattern_all, {
    detail = { "repository-name" = local.repository_name_matchers }
  })
  inspector2_finding_pattern_all = {
    source        = ["aws.inspector2"]
    "detail-type" = ["Inspector2 Finding"]
    detail = {
      status    = ["ACTIVE"]
      severity  = var.inspector_finding_severities
      resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] }
    }
  }
  inspector2_finding_pattern = {
    source        = ["aws.inspector2"]
    "detail-type" = ["Inspector2 Finding"]
    detail = {
      status   = ["ACTIVE"]
      severity = var.inspector_finding_severities
      resources = {
        type    = ["AWS_ECR_CONTAINER_IMAGE"]
        details = { awsEcrContainerImage = { repositoryName = local.repository_name_matchers } }
      }
    }
  }

  forwarded_rules = merge(
    {
      ecr-image-scan = local.all_repositories ? jsonencode(local.ecr_image_scan_pattern_all) : jsonencode(local.ecr_image_scan_pattern)
    },
    var.forward_enhanced_scanning_events ? {
      inspector2-scan = jsonencode({
        source        = ["aws.inspector2"]
        "detail-type" = ["Inspector2 Scan"]
        resources     = local.repository_arn_matchers
        detail        = { "scan-status" = ["INITIAL_SCAN_COMPLETE"] }
      })
      inspector2-finding = local.all_repositories ? jsonencode(local.inspector2_finding_pattern_all) : jsonencode(local.inspector2_finding_pattern)
    } : {},
  )

  # The rules' ARNs, known at plan: the forwarder's trust and the dead-letter
  # queue's policy admit these rules only.
  forward_rule_arns = [for k in keys(local.forwarded_rules) : "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}-forward-${k}"]
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
  # The gated repositories (repository_patterns) in role_regions, nothing else.
  statement {
    sid       = "EcrGateActions"
    effect    = "Allow"
    actions   = local.gate_ecr_actions
    resources = local.repository_arns
  }

  # The sweep lists the repositories (DescribeRepositories without names) and
  # picks the gated ones; metadata only, in role_regions.
  statement {
    sid       = "EcrDescribeRepositories"
    effect    = "Allow"
    actions   = ["ecr:DescribeRepositories"]
    resources = local.all_repository_arns
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

  name                 = local.role_base_name
  path                 = local.role_name_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "Assumed by the ecr-scan-gate function of the hub account to read and tag images here"
  assume_role_policy   = data.aws_iam_policy_document.member_assume.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "member" {
  count = var.create_role ? 1 : 0

  name   = "${local.role_base_name}-ecr"
  role   = aws_iam_role.member[0].id
  policy = data.aws_iam_policy_document.member.json
}

###############################################################################
# Forward this region's scan events of the gated repositories to the hub
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

    # Only this module's forwarding rules.
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = local.forward_rule_arns
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
  name                 = "${var.name}-forward-${local.region}"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "EventBridge: forwards ECR scan events of ${local.region} to the ecr-scan-gate hub"
  assume_role_policy   = data.aws_iam_policy_document.forwarder_assume.json
  tags                 = var.tags
}

resource "aws_iam_role_policy" "forwarder" {
  name   = "put-events-on-hub-bus"
  role   = aws_iam_role.forwarder.id
  policy = data.aws_iam_policy_document.forwarder.json
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each = local.forwarded_rules

  name          = "${var.name}-forward-${each.key}"
  description   = "Forward ${each.key} events of the gated repositories to the ecr-scan-gate hub bus"
  event_pattern = each.value
  tags          = var.tags

  lifecycle {
    # EventBridge's default quota: PutRule fails above 2048 characters.
    precondition {
      condition     = length(each.value) <= 2048
      error_message = "The event pattern of rule ${each.key} is ${length(each.value)} characters, above EventBridge's 2048: give repository_patterns as globs (\"team-a/*\") instead of listing each name."
    }
  }
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

  # An event EventBridge could not put on the hub bus (bus policy, role,
  # throttling) lands here instead of being dropped.
  dead_letter_config {
    arn = aws_sqs_queue.forward_dlq.arn
  }
}

###############################################################################
# Dead-letter queue of the forwarding, and its alarm
###############################################################################

resource "aws_sqs_queue" "forward_dlq" {
  name                      = "${var.name}-forward-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "forward_dlq" {
  statement {
    sid       = "AllowForwardingRulesDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.forward_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = local.forward_rule_arns
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.forward_dlq.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "forward_dlq" {
  queue_url = aws_sqs_queue.forward_dlq.id
  policy    = data.aws_iam_policy_document.forward_dlq.json
}

resource "aws_cloudwatch_metric_alarm" "forward_dlq" {
  alarm_name          = "${var.name}-forward-dead-letter-messages"
  alarm_description   = "Scan events of ${local.account_id} in ${local.region} that EventBridge could not forward to the ecr-scan-gate hub (${var.hub_event_bus_arn}) are in ${aws_sqs_queue.forward_dlq.name}: those images were not judged. Fix the cause (the hub bus policy, the role ${var.name}-forward-${local.region}), then have the gate sweep this account and region ({\"sweep\": {\"accounts\": [\"${local.account_id}\"], \"regions\": [\"${local.region}\"]}})."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.forward_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
