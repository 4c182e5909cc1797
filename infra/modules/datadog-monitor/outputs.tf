output "monitor_id" {
  description = "ID of the Datadog monitor"
  value       = datadog_monitor.critical_findings.id
}

output "query" {
  description = "The monitor's query"
  value       = local.query
}
