# EventBridge rules for the scan events the gate understands, scoped to the gated
# repositories. The function still checks every event itself and ignores what
# is not its own. The same rules twice: on this account's default bus (its own
# scans in its own region), and on the hub bus (members.tf) for the events that
# member accounts and this account's other regions forward there.

locals {
  # Basic scanning finished, in any status: COMPLETE is evaluated, the others
  # (FAILED, UNSUPPORTED_IMAGE, ...) take the scan-error path. No `account`
  # key: on the hub bus, the forwarded events of other accounts must match.
  ecr_image_scan_pattern = {
    source        = ["aws.ecr"]
    "detail-type" = ["ECR Image Scan"]
    detail = {
      "repository-name" = local.repository_name_matchers
    }
  }
  ecr_image_scan_pattern_all = {
    source        = ["aws.ecr"]
    "detail-type" = ["ECR Image Scan"]
  }

  # Enhanced scanning (Amazon Inspector), first scan of an image. Its detail
  # names the repository by ARN; `resources` holds the repository ARN, which
  # also keeps out EC2 and Lambda scans (even when every repository is gated:
  # then `resources` must start with an ECR ARN).
  inspector2_scan_pattern = {
    source        = ["aws.inspector2"]
    "detail-type" = ["Inspector2 Scan"]
    resources     = local.repository_arn_matchers
    detail = {
      "scan-status" = ["INITIAL_SCAN_COMPLETE"]
    }
  }

  # Enhanced continuous scanning found a new CVE in an image already pushed.
  # Only what can matter reaches the function: ACTIVE findings (SUPPRESSED and
  # CLOSED ones cannot fail an image) on an ECR image, of the severities in
  # var.inspector_finding_severities. Every CVE of every severity would
  # otherwise invoke the function once (an alert storm after a database update).
  inspector2_finding_pattern = {
    source        = ["aws.inspector2"]
    "detail-type" = ["Inspector2 Finding"]
    detail = {
      status   = ["ACTIVE"]
      severity = var.inspector_finding_severities
      resources = {
        type = ["AWS_ECR_CONTAINER_IMAGE"]
        details = {
          awsEcrContainerImage = {
            repositoryName = local.repository_name_matchers
          }
        }
      }
    }
  }
  inspector2_finding_pattern_all = {
    source        = ["aws.inspector2"]
    "detail-type" = ["Inspector2 Finding"]
    detail = {
      status   = ["ACTIVE"]
      severity = var.inspector_finding_severities
      resources = {
        type = ["AWS_ECR_CONTAINER_IMAGE"]
      }
    }
  }

  # On the hub bus, the repository ARN of Inspector2 Scan may be of any account
  # and region (repositories.tf, forwarded_repository_arn_matchers).
  inspector2_scan_pattern_forwarded = merge(local.inspector2_scan_pattern, {
    resources = local.forwarded_repository_arn_matchers
  })

  # Each rule's pattern as its JSON text: every branch of a conditional is then
  # a string, whatever the shape of the pattern.
  event_rules = merge(
    {
      ecr-image-scan = {
        description = "ECR basic scan finished for a gated repository"
        pattern     = local.gate_all_repositories ? jsonencode(local.ecr_image_scan_pattern_all) : jsonencode(local.ecr_image_scan_pattern)
      }
    },
    var.gate_enhanced_scanning_events ? {
      inspector2-scan = {
        description = "Inspector initial scan of an image of a gated repository completed"
        pattern     = jsonencode(local.inspector2_scan_pattern)
      }
      inspector2-finding = {
        description = "Inspector reported an active finding that can matter on an image of a gated repository"
        pattern     = local.gate_all_repositories ? jsonencode(local.inspector2_finding_pattern_all) : jsonencode(local.inspector2_finding_pattern)
      }
    } : {},
  )

  # The same rules on the hub bus, where they exist (members.tf).
  forwarded_event_rules = local.hub_bus_enabled ? merge(
    local.event_rules,
    var.gate_enhanced_scanning_events ? {
      inspector2-scan = {
        description = "Inspector initial scan of an image of a gated repository completed (forwarded to the hub bus)"
        pattern     = jsonencode(local.inspector2_scan_pattern_forwarded)
      }
    } : {},
  ) : {}
}

resource "aws_cloudwatch_event_rule" "gate" {
  for_each = local.event_rules

  name          = "${var.name}-${each.key}"
  description   = each.value.description
  event_pattern = each.value.pattern
  tags          = var.tags

  lifecycle {
    # EventBridge's default quota: PutRule fails above 2048 characters.
    precondition {
      condition     = length(each.value.pattern) <= 2048
      error_message = "The event pattern of rule ${each.key} is ${length(each.value.pattern)} characters, above EventBridge's 2048: gate repositories by glob (gated_repository_patterns, e.g. \"team-a/*\", or [\"*\"] for all) instead of listing each name."
    }
  }
}

resource "aws_cloudwatch_event_target" "gate" {
  for_each = aws_cloudwatch_event_rule.gate

  rule      = each.value.name
  target_id = var.name
  arn       = aws_lambda_function.gate.arn

  retry_policy {
    maximum_retry_attempts       = var.event_target_maximum_retry_attempts
    maximum_event_age_in_seconds = var.event_target_maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "events" {
  for_each = aws_cloudwatch_event_rule.gate

  statement_id   = "AllowEventBridge-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.gate.function_name
  principal      = "events.amazonaws.com"
  source_arn     = each.value.arn
  source_account = local.account_id
}

###############################################################################
# The same rules on the hub bus (members.tf): forwarded events
###############################################################################

resource "aws_cloudwatch_event_rule" "forwarded" {
  for_each = local.forwarded_event_rules

  name           = "${var.name}-${each.key}"
  description    = each.value.description
  event_bus_name = aws_cloudwatch_event_bus.hub[0].name
  event_pattern  = each.value.pattern
  tags           = var.tags

  lifecycle {
    precondition {
      condition     = length(each.value.pattern) <= 2048
      error_message = "The event pattern of rule ${each.key} on the hub bus is ${length(each.value.pattern)} characters, above EventBridge's 2048: gate repositories by glob (gated_repository_patterns, e.g. \"team-a/*\", or [\"*\"] for all) instead of listing each name."
    }
  }
}

resource "aws_cloudwatch_event_target" "forwarded" {
  for_each = aws_cloudwatch_event_rule.forwarded

  rule           = each.value.name
  event_bus_name = each.value.event_bus_name
  target_id      = var.name
  arn            = aws_lambda_function.gate.arn

  retry_policy {
    maximum_retry_attempts       = var.event_target_maximum_retry_attempts
    maximum_event_age_in_seconds = var.event_target_maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "forwarded" {
  for_each = aws_cloudwatch_event_rule.forwarded

  statement_id   = "AllowEventBridgeHubBus-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.gate.function_name
  principal      = "events.amazonaws.com"
  source_arn     = each.value.arn
  source_account = local.account_id
}
