# Hub side of many accounts. Each member account forwards its scan
# events to this account's default event bus (modules/member); EventBridge keeps
# the event's `account` and `region`, so the rules of events.tf, which do not
# pin `account`, match them. The function then assumes the member role
# (MEMBER_ROLE_NAME) in the event's account to read and tag the image there.

locals {
  member_mode        = length(var.member_accounts) > 0
  member_org_wide    = contains(var.member_accounts, "*")
  default_bus_arn    = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"
  member_role_arns   = local.member_org_wide ? ["arn:${local.partition}:iam::*:role/${var.member_role_name}"] : [for a in var.member_accounts : "arn:${local.partition}:iam::${a}:role/${var.member_role_name}"]
  member_account_ids = [for a in var.member_accounts : a if a != "*"]

  member_environment = merge(
    local.member_mode ? {
      MEMBER_ROLE_NAME = var.member_role_name
      MEMBER_ACCOUNTS  = local.member_org_wide ? "*" : join(",", var.member_accounts)
    } : {},
    local.member_mode && var.member_role_external_id != null ? { MEMBER_ROLE_EXTERNAL_ID = var.member_role_external_id } : {},
  )
}

data "aws_iam_policy_document" "event_bus" {
  count = local.member_mode && var.create_event_bus_policy ? 1 : 0

  # Listed member accounts.
  dynamic "statement" {
    for_each = local.member_org_wide ? [] : [1]

    content {
      sid       = "AllowMemberAccountsPutEvents"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [local.default_bus_arn]

      principals {
        type        = "AWS"
        identifiers = local.member_account_ids
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
      sid       = "AllowOrganizationPutEvents"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [local.default_bus_arn]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [var.organization_id]
      }
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "members" {
  count = local.member_mode && var.create_event_bus_policy ? 1 : 0

  event_bus_name = "default"
  policy         = data.aws_iam_policy_document.event_bus[0].json
}
