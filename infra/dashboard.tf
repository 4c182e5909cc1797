# A CloudWatch dashboard on what the function emits (EMF, src/engine/metrics.rs:
# namespace ECRScanGate, dimension sets [Repository] and [Repository, Verdict])
# and on the function's health (Lambda errors, dead-letter queues). The
# repositories are not known here: SEARCH expressions find them.
# tests/infra/test_dashboard_matches_code.py checks these names against the code.

locals {
  emf_dimensions_repository = ["Repository"]
  emf_dimensions_verdict    = ["Repository", "Verdict"]
  emf_finding_metrics = [
    "CriticalFindings",
    "HighFindings",
    "MediumFindings",
    "LowFindings",
    "InformationalFindings",
    "UndefinedFindings",
    "UntriagedFindings",
  ]
  emf_action_metrics = ["Quarantined", "Released", "Archived", "Restored", "Evaluations"]
  verdicts           = ["PASS", "WARN", "FAIL", "ERROR"]

  dashboard_period = 3600

  # SEARCH('{Namespace,Dim...} MetricName="X"', 'Stat', period)
  search_repository = "{${local.metrics_namespace},${join(",", local.emf_dimensions_repository)}}"
  search_verdict    = "{${local.metrics_namespace},${join(",", local.emf_dimensions_verdict)}}"

  dashboard_widgets = concat(
    [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Evaluations by verdict"
          region = local.region
          view   = "timeSeries"
          stat   = "Sum"
          period = local.dashboard_period
          metrics = [for i, v in local.verdicts : [{
            id         = "v${i}"
            label      = v
            expression = "SUM(SEARCH('${local.search_verdict} MetricName=\"Evaluations\" Verdict=\"${v}\"', 'Sum', ${local.dashboard_period}))"
          }]]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Critical findings per repository (latest scan, max)"
          region = local.region
          view   = "timeSeries"
          period = local.dashboard_period
          metrics = [[{
            id         = "critical"
            expression = "SEARCH('${local.search_repository} MetricName=\"CriticalFindings\"', 'Maximum', ${local.dashboard_period})"
          }]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Quarantines, releases, archives and restores"
          region = local.region
          view   = "timeSeries"
          period = local.dashboard_period
          metrics = [for i, m in ["Quarantined", "Released", "Archived", "Restored"] : [{
            id         = "a${i}"
            label      = m
            expression = "SUM(SEARCH('${local.search_repository} MetricName=\"${m}\"', 'Sum', ${local.dashboard_period}))"
          }]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Findings by severity (all repositories, max of the latest scans)"
          region = local.region
          view   = "timeSeries"
          period = local.dashboard_period
          metrics = [for i, m in local.emf_finding_metrics : [{
            id         = "f${i}"
            label      = m
            expression = "MAX(SEARCH('${local.search_repository} MetricName=\"${m}\"', 'Maximum', ${local.dashboard_period}))"
          }]]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Function: invocations, errors, throttles"
          region = local.region
          view   = "timeSeries"
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", var.name],
            ["AWS/Lambda", "Errors", "FunctionName", var.name],
            ["AWS/Lambda", "Throttles", "FunctionName", var.name],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Dead-letter queues (messages waiting: images not evaluated)"
          region = local.region
          view   = "timeSeries"
          stat   = "Maximum"
          period = 300
          metrics = concat(
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq.name]],
            var.sweep_queue_enabled ? [
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.sweep_dlq[0].name],
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.sweep[0].name],
            ] : [],
          )
        }
      },
    ],
  )
}

resource "aws_cloudwatch_dashboard" "gate" {
  count = var.dashboard_enabled ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
