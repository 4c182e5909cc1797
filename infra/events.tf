# EventBridge rules for the events of SPEC section 2, scoped to the gated
# repositories. The function still checks every event itself and ignores what
# is not its own.

locals {
  # Basic scanning finished, in any status: COMPLETE is evaluated, the others
  # (FAILED, UNSUPPORTED_IMAGE, ...) take the scan-error path.
  ecr_image_scan_pattern = {
    source        = ["aws.ecr"]
    "detail-type" = ["ECR Image Scan"]
    detail = {
      "repository-name" = local.gated_repository_names
    }
  }

  # Enhanced scanning (Amazon Inspector), first scan of an image. Its detail
  # names the repository by ARN; `resources` holds the repository ARN, which
  # also keeps out EC2 and Lambda scans.
  inspector2_scan_pattern = {
    source        = ["aws.inspector2"]
    "detail-type" = ["Inspector2 Scan"]
    resources     = [for name in local.gated_repository_names : local.gated_repository_arns[name]]
    detail = {
      "scan-status" = ["INITIAL_SCAN_COMPLETE"]
    }
  }

  # Enhanced continuous scanning found a new CVE in an image already pushed.
  inspector2_finding_pattern = {
    source        = ["aws.inspector2"]
    "detail-type" = ["Inspector2 Finding"]
    detail = {
      status = ["ACTIVE"]
      resources = {
        type = ["AWS_ECR_CONTAINER_IMAGE"]
        details = {
          awsEcrContainerImage = {
            repositoryName = local.gated_repository_names
          }
        }
      }
    }
  }

  event_rules = merge(
    {
      ecr-image-scan = {
        description = "ECR basic scan finished for a gated repository"
        pattern     = local.ecr_image_scan_pattern
      }
    },
    var.enable_enhanced_scanning ? {
      inspector2-scan = {
        description = "Inspector initial scan of an image of a gated repository completed"
        pattern     = local.inspector2_scan_pattern
      }
      inspector2-finding = {
        description = "Inspector reported an active finding on an image of a gated repository"
        pattern     = local.inspector2_finding_pattern
      }
    } : {},
  )
}

resource "aws_cloudwatch_event_rule" "gate" {
  for_each = local.event_rules

  name          = "${var.name}-${each.key}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
  tags          = var.tags
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
