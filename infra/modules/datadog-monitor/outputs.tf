output "monitor_id" {
  description = "ID of the Datadog monitor"
  value       = datadog_monitor.critical_findings.id
}

output "query" {
  description = "The monitor's query"
  value       = local.query
}

output "metric_name" {
  description = "The Datadog metric the monitor queries (derived from the namespace unless metric_name is set)"
  value       = local.metric_name
}
