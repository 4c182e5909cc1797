# The sweep and the report: the registry's state over time,
# not only at the moment of a scan.
#
#   EventBridge Scheduler ──daily {"sweep": {...}}──► function ──SendMessageBatch──► sweep queue
#                         └─weekly {"report": {}}──►            ◄──event-source mapping (max concurrency)──┘
#                                                                           failed records ──► sweep DLQ ──► alarm
#
# The function finds the images that need a closer look and enqueues one message
# each (SWEEP_QUEUE_URL); the same function consumes the queue a few messages at
# a time. The mapping's maximum concurrency is the rate limit that keeps the
# sweep under ECR's API rate quotas.

locals {
  # How long the sweep queue keeps a message: 4 days, so that a consumer that
  # stopped (errors, throttling) can be fixed before images are dropped unseen.
  # The age alarm (alarms.tf, sweep_queue_age_alarm_seconds) fires well before.
  sweep_queue_message_retention_seconds = 345600

  sweep_schedules = merge(
    var.sweep_schedule_enabled ? {
      sweep = {
        description = "Daily sweep: re-evaluate every deployable image of the gated repositories"
        expression  = var.sweep_schedule_expression
        input       = jsonencode({ sweep = var.sweep_input })
      }
    } : {},
    var.report_schedule_enabled ? {
      report = {
        description = "Weekly report: quarantined images and allowlist entries that expire soon"
        expression  = var.report_schedule_expression
        input       = jsonencode({ report = {} })
      }
    } : {},
  )

  # A schedule sweeps unattended (the report's schedule alone sweeps nothing):
  # the incomplete-sweep alarm (alarms.tf) exists with it.
  sweep_scheduled = contains(keys(local.sweep_schedules), "sweep")

  # The sweep can run: a schedule invokes the function, or the queue feeds it.
  # The role's sweep permissions (iam.tf) follow this.
  sweep_can_run = length(local.sweep_schedules) > 0 || var.sweep_queue_enabled
}

###############################################################################
# Schedules
###############################################################################

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = length(local.sweep_schedules) > 0 ? 1 : 0

  name               = "${var.name}-scheduler"
  description        = "EventBridge Scheduler: invokes the ${var.name} function for the sweep and the report"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeGateFunction"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.gate.arn]
  }

  # A schedule that cannot invoke the function leaves its input in the
  # dead-letter queue (encrypted with the module's key).
  statement {
    sid       = "SendToDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "UseModuleKeyForDeadLetterQueue"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = length(local.sweep_schedules) > 0 ? 1 : 0

  name   = "${var.name}-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "gate" {
  #checkov:skip=CKV_AWS_297:The schedule input is {"sweep": {...}} / {"report": {}}, no secret; the AWS-owned key is enough.
  for_each = local.sweep_schedules

  name                         = "${var.name}-${each.key}"
  description                  = each.value.description
  schedule_expression          = each.value.expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.gate.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = each.value.input

    retry_policy {
      maximum_retry_attempts       = 3
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}

###############################################################################
# Sweep queue (fan-out), its dead-letter queue, the event-source mapping
###############################################################################

resource "aws_sqs_queue" "sweep_dlq" {
  count = var.sweep_queue_enabled ? 1 : 0

  name                              = "${var.name}-sweep-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue" "sweep" {
  count = var.sweep_queue_enabled ? 1 : 0

  name = "${var.name}-sweep"
  # AWS guidance for a Lambda event source: at least 6 x the function timeout,
  # so that a message is not redelivered while a retried invocation still runs.
  visibility_timeout_seconds        = 6 * var.timeout
  message_retention_seconds         = local.sweep_queue_message_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.sweep_dlq[0].arn
    maxReceiveCount     = var.sweep_max_receive_count
  })

  tags = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "sweep_dlq" {
  count = var.sweep_queue_enabled ? 1 : 0

  queue_url = aws_sqs_queue.sweep_dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.sweep[0].arn]
  })
}

resource "aws_lambda_event_source_mapping" "sweep" {
  count = var.sweep_queue_enabled ? 1 : 0

  event_source_arn = aws_sqs_queue.sweep[0].arn
  function_name    = aws_lambda_function.gate.arn
  batch_size       = var.sweep_batch_size
  enabled          = true

  # The function answers {"batchItemFailures": [...]}: only those records are retried.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sweep_max_concurrency
  }

  depends_on = [aws_iam_role_policy.gate]
}
