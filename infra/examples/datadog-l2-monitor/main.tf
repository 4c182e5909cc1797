# Design section 5.2: the Datadog L2 monitor "Critical >= 1", on the metrics the
# gate emits. Needs the Datadog AWS integration with custom metric collection
# for the CloudWatch namespace ECRScanGate.

module "critical_findings_monitor" {
  source = "../../modules/datadog-monitor"

  scope  = "repository:demo-api"
  notify = var.notify
}

variable "notify" {
  description = "Datadog handles to notify, e.g. [\"@slack-security-alerts\"]."
  type        = list(string)
  default     = []
}

output "monitor_id" {
  description = "ID of the Datadog monitor"
  value       = module.critical_findings_monitor.monitor_id
}
