# Dead-letter queue of the gate. Two producers:
#  - Lambda's on-failure destination: an event whose invocation still failed
#    after the asynchronous retries (the record carries the event and the error);
#  - EventBridge targets (default bus and hub bus): an event that could not be
#    delivered to the function;
#  - the Scheduler schedules: a sweep or report that could not invoke it.
# Any message here is an image that was not evaluated: the alarm in alarms.tf
# fires on the first one.

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name}-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "AllowEventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = concat([for rule in aws_cloudwatch_event_rule.gate : rule.arn], [for rule in aws_cloudwatch_event_rule.forwarded : rule.arn])
    }
  }

  # Encrypted in transit only.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]

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

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}
