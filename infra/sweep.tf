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

  # The scheduled sweep covers every region the gate serves: with gate_regions
  # beyond the function's own, `regions` is added to the input unless given.
  # Without `repositories`, the function sweeps GATE_REPOSITORIES.
  sweep_input_regions = try(tolist(var.sweep_input.regions), null)
  sweep_add_regions   = length(local.gate_regions) > 1 && !contains(keys(var.sweep_input), "regions")
  # (As JSON text: the two branches are objects of different attributes.)
  sweep_request_json = local.sweep_add_regions ? jsonencode(merge(var.sweep_input, { regions = local.gate_regions })) : jsonencode(var.sweep_input)

  sweep_schedules = merge(
    var.sweep_schedule_enabled ? {
      sweep = {
        description = "Daily sweep: re-evaluate every deployable image of the gated repositories"
        expression  = var.sweep_schedule_expression
        input       = jsonencode({ sweep = jsondecode(local.sweep_request_json) })
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

  # The schedules' own group: the scheduler role trusts only its schedules
  # (aws:SourceArn is the schedule group's ARN).
  schedule_group_name = var.name
  schedule_group_arn  = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule-group/${local.schedule_group_name}"
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

    # Only the schedules of the gate's own group (EventBridge Scheduler sets
    # aws:SourceArn to the schedule group's ARN).
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.schedule_group_arn]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = length(local.sweep_schedules) > 0 ? 1 : 0

  name                 = "${var.name}-scheduler"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "EventBridge Scheduler: invokes the ${var.name} function for the sweep and the report"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume.json
  tags                 = var.tags
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

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = length(local.sweep_schedules) > 0 ? 1 : 0

  name   = "${var.name}-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule_group" "gate" {
  count = length(local.sweep_schedules) > 0 ? 1 : 0

  name = local.schedule_group_name
  tags = var.tags
}

resource "aws_scheduler_schedule" "gate" {
  #checkov:skip=CKV_AWS_297:The schedule input is {"sweep": {...}} / {"report": {}}, no secret; the AWS-owned key is enough.
  for_each = local.sweep_schedules

  name                         = "${var.name}-${each.key}"
  group_name                   = aws_scheduler_schedule_group.gate[0].name
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

  lifecycle {
    # The function's role may act only in the regions the gate serves.
    precondition {
      condition     = local.sweep_input_regions == null ? true : length(setsubtract(local.sweep_input_regions, local.gate_regions)) == 0
      error_message = "sweep_input.regions names regions the gate does not serve (${join(", ", local.sweep_input_regions == null ? [] : setsubtract(local.sweep_input_regions, local.gate_regions))}): the function's role has no ECR permission there and every repository would be AccessDenied. Add them to gate_regions, or remove them from sweep_input.regions."
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

# Encrypted in transit only: the queues refuse any request without TLS. (The
# event-source mapping and the function use their role's IAM permissions, as
# before; these policies add no access.)
data "aws_iam_policy_document" "sweep_queues" {
  for_each = var.sweep_queue_enabled ? {
    sweep     = aws_sqs_queue.sweep[0].arn
    sweep-dlq = aws_sqs_queue.sweep_dlq[0].arn
  } : {}

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

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

resource "aws_sqs_queue_policy" "sweep" {
  count = var.sweep_queue_enabled ? 1 : 0

  queue_url = aws_sqs_queue.sweep[0].id
  policy    = data.aws_iam_policy_document.sweep_queues["sweep"].json
}

resource "aws_sqs_queue_policy" "sweep_dlq" {
  count = var.sweep_queue_enabled ? 1 : 0

  queue_url = aws_sqs_queue.sweep_dlq[0].id
  policy    = data.aws_iam_policy_document.sweep_queues["sweep-dlq"].json
}
