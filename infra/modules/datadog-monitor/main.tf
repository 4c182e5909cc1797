# Datadog L2 monitor of the design (ecr-design.ja.md section 5.2): alert when an
# ECR scan finds Critical vulnerabilities, threshold Critical >= 1. It watches
# the `CriticalFindings` metric that ecr-scan-gate emits per repository (EMF,
# namespace ECRScanGate), collected by the Datadog AWS integration.

locals {
  query = "max(${var.evaluation_window}):max:${var.metric_name}{${var.scope}} by {${var.repository_tag}} >= ${var.critical_threshold}"

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
