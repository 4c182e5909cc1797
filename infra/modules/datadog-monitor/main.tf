# Datadog L2 monitor of the design (section 5.2): alert when an
# ECR scan finds Critical vulnerabilities, threshold Critical >= 1. It watches
# the `CriticalFindings` metric that ecr-scan-gate emits per repository (EMF,
# namespace ECRScanGate), collected by the Datadog AWS integration.

locals {
  # Datadog's name of a custom CloudWatch namespace: lowercased, '/' -> '.'.
  datadog_prefix = lower(replace(var.metrics_namespace, "/", "."))
  metric_name    = coalesce(var.metric_name, "${local.datadog_prefix}.critical_findings")
  evaluations    = "${local.datadog_prefix}.evaluations"

  query = "max(${var.evaluation_window}):max:${local.metric_name}{${var.scope}} by {${var.repository_tag}} >= ${var.critical_threshold}"

  message = join("\n", compact([
    "Critical vulnerabilities (>= ${var.critical_threshold}) found in an image of ECR repository {{${var.repository_tag}.name}}: {{value}} Critical findings.",
    "The gate has tagged the failing digest for quarantine; its SNS/Slack alert names the image and the CVEs.",
    "Fix: update the vulnerable packages, rebuild, push; the rescan clears this alert.",
    length(var.notify) > 0 ? join(" ", var.notify) : "",
  ]))
}

resource "datadog_monitor" "critical_findings" {
  name     = var.name
  type     = "metric alert"
  query    = local.query
  message  = local.message
  priority = var.priority
  tags     = var.tags

  monitor_thresholds {
    critical = var.critical_threshold
  }

  # One data point per scan: no full window, no "no data" alert between scans.
  require_full_window = false
  notify_no_data      = false
  evaluation_delay    = var.evaluation_delay_seconds
  include_tags        = true
}

# The no-data guard: the Critical monitor above cannot tell "no Critical" from
# "no data". This one watches that evaluations arrive at all; its threshold is
# never reached, only missing data alerts.
resource "datadog_monitor" "no_data" {
  count = var.no_data_guard_enabled ? 1 : 0

  name     = "[ECR] ecr-scan-gate emits no evaluations"
  type     = "metric alert"
  query    = "sum(last_1h):sum:${local.evaluations}{*}.as_count() < 0"
  message  = "No ecr-scan-gate evaluation reached Datadog for ${var.no_data_timeframe_minutes} minutes: check the function (errors, dead-letter queue), its EMF metrics in CloudWatch (${var.metrics_namespace}) and the Datadog AWS integration. ${join(" ", var.notify)}"
  priority = var.priority
  tags     = var.tags

  monitor_thresholds {
    critical = 0
  }

  notify_no_data      = true
  no_data_timeframe   = var.no_data_timeframe_minutes
  require_full_window = false
  evaluation_delay    = var.evaluation_delay_seconds
}
