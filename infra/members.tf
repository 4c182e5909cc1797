# Hub side of many accounts and regions. Each member account, and each other
# region of this account (gate_regions), runs modules/member, whose rules
# forward the scan events of its gated repositories to the hub bus below;
# EventBridge keeps the event's `account`, `region` and `source`. The rules of
# events.tf, which do not pin `account`, are on that bus too. The function then
# assumes the member role (MEMBER_ROLE_NAME) in the event's account to read and
# tag the image there.
#
# A bus of the gate's own, not this account's default bus: its resource policy
# is wholly the gate's (aws_cloudwatch_event_bus_policy replaces a bus's whole
# policy, and the default bus's may hold statements that others own), and it
# admits only what the gate needs: events:PutEvents of `aws.ecr` and
# `aws.inspector2` events (events:source), of the three scan detail-types
# (events:detail-type), from the member accounts or the organisation.

locals {
  member_mode        = length(var.member_accounts) > 0
  member_org_wide    = contains(var.member_accounts, "*")
  member_role_arns   = local.member_org_wide ? ["arn:${local.partition}:iam::*:role/${var.member_role_name}"] : [for a in var.member_accounts : "arn:${local.partition}:iam::${a}:role/${var.member_role_name}"]
  member_account_ids = [for a in var.member_accounts : a if a != "*"]

  # The hub bus exists when something forwards to it: member accounts, or this
  # account's other regions.
  hub_bus_enabled = local.member_mode || length(local.gate_regions) > 1
  hub_bus_name    = "${var.name}-hub"
  hub_bus_arn     = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${local.hub_bus_name}"

  # What the bus accepts from other accounts: the sources and detail-types of
  # the scan events the rules of events.tf match.
  hub_bus_event_sources      = ["aws.ecr", "aws.inspector2"]
  hub_bus_event_detail_types = ["ECR Image Scan", "Inspector2 Scan", "Inspector2 Finding"]

  member_environment = merge(
    local.member_mode ? {
      MEMBER_ROLE_NAME = var.member_role_name
      MEMBER_ACCOUNTS  = local.member_org_wide ? "*" : join(",", var.member_accounts)
    } : {},
    local.member_mode && var.member_role_external_id != null ? { MEMBER_ROLE_EXTERNAL_ID = var.member_role_external_id } : {},
  )
}

resource "aws_cloudwatch_event_bus" "hub" {
  # Encrypted at rest with an AWS-owned key: scan events (repository, digest,
  # severity counts) are no secret.
  count = local.hub_bus_enabled ? 1 : 0

  name = local.hub_bus_name
  tags = var.tags
}

# Same-account forwarding (this account's other regions) needs no statement:
# the forwarder role's own IAM policy allows it. Other accounts need one.
data "aws_iam_policy_document" "hub_bus" {
  count = local.member_mode ? 1 : 0

  # Listed member accounts (within the organisation when organization_id is set).
  dynamic "statement" {
    for_each = local.member_org_wide ? [] : [1]

    content {
      sid       = "AllowMemberAccountsPutScanEvents"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [local.hub_bus_arn]

      principals {
        type        = "AWS"
        identifiers = local.member_account_ids
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:source"
        values   = local.hub_bus_event_sources
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:detail-type"
        values   = local.hub_bus_event_detail_types
      }

      dynamic "condition" {
        for_each = var.organization_id == null ? [] : [var.organization_id]

        content {
          test     = "StringEquals"
          variable = "aws:PrincipalOrgID"
          values   = [condition.value]
        }
      }
    }
  }

  # Every account of the organisation.
  dynamic "statement" {
    for_each = local.member_org_wide ? [1] : []

    content {
      sid       = "AllowOrganizationPutScanEvents"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [local.hub_bus_arn]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [var.organization_id]
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:source"
        values   = local.hub_bus_event_sources
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:detail-type"
        values   = local.hub_bus_event_detail_types
      }
    }
  }
}

# The bus is the gate's: this policy is all of its policy.
resource "aws_cloudwatch_event_bus_policy" "hub" {
  count = local.member_mode ? 1 : 0

  event_bus_name = aws_cloudwatch_event_bus.hub[0].name
  policy         = data.aws_iam_policy_document.hub_bus[0].json
}
