variable "name" {
  description = "Name of the monitor."
  type        = string
  default     = "[ECR] Critical vulnerabilities in an image (ecr-scan-gate)"

  validation {
    condition     = length(var.name) > 0 && length(var.name) <= 200
    error_message = "name must be 1-200 characters."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the function emits its EMF metrics in (src/engine/metrics.rs NAMESPACE; output metrics_namespace of the gate module)."
  type        = string
  default     = "ECRScanGate"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be a CloudWatch namespace."
  }
}

variable "metric_name" {
  description = <<-EOT
    Datadog name of the function's `CriticalFindings` metric. Null (default): derived from
    metrics_namespace by the rule of the Datadog AWS integration for a custom namespace: the
    namespace lowercased as it is ('/' becomes '.'), then the metric name in snake_case:
    `ECRScanGate` + `CriticalFindings` -> `ecrscangate.critical_findings` (as
    `ECS/ContainerInsights` `CpuUtilized` -> `ecs.containerinsights.cpu_utilized`). The
    dimension `Repository` becomes the tag `repository`. Set it only if Metrics Summary
    shows another name.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.metric_name == null ? true : can(regex("^[a-zA-Z][a-zA-Z0-9_.]{0,199}$", var.metric_name))
    error_message = "metric_name must be a Datadog metric name: a letter, then letters, digits, '_' or '.'."
  }
}

variable "no_data_guard_enabled" {
  description = "Also create a monitor that alerts when the gate emitted no `Evaluations` at all for no_data_timeframe_minutes: the function, its metrics or the Datadog integration stopped, and the Critical monitor would stay silent."
  type        = bool
  default     = true
}

variable "no_data_timeframe_minutes" {
  description = "Minutes without any evaluation before the no-data guard alerts. Every push and the daily sweep evaluate images: 2 days by default."
  type        = number
  default     = 2880

  validation {
    condition     = var.no_data_timeframe_minutes >= 60 && var.no_data_timeframe_minutes <= 10080
    error_message = "no_data_timeframe_minutes must be between 60 and 10080 (a week)."
  }
}

variable "repository_tag" {
  description = "Datadog tag key that carries the repository (the EMF dimension `Repository`, lowercased)."
  type        = string
  default     = "repository"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_./-]*$", var.repository_tag))
    error_message = "repository_tag must be a lowercase Datadog tag key."
  }
}

variable "scope" {
  description = "Scope of the query, e.g. `*` (every repository) or `repository:demo-api`."
  type        = string
  default     = "*"

  validation {
    condition     = length(var.scope) > 0
    error_message = "scope must not be empty (use * for everything)."
  }
}

variable "critical_threshold" {
  description = "Alert when an image of a repository has at least this many Critical findings (design section 5.2: Critical >= 1)."
  type        = number
  default     = 1

  validation {
    condition     = var.critical_threshold >= 1
    error_message = "critical_threshold must be at least 1."
  }
}

variable "evaluation_window" {
  description = "Window of the query. The gate emits one data point per scan, so the window must be wide enough to hold it."
  type        = string
  default     = "last_1h"

  validation {
    condition     = contains(["last_5m", "last_10m", "last_15m", "last_30m", "last_1h", "last_2h", "last_4h", "last_1d"], var.evaluation_window)
    error_message = "evaluation_window must be one of last_5m, last_10m, last_15m, last_30m, last_1h, last_2h, last_4h, last_1d."
  }
}

variable "evaluation_delay_seconds" {
  description = "Delay before evaluating, for the AWS integration's CloudWatch polling lag (about 10-15 minutes)."
  type        = number
  default     = 900

  validation {
    condition     = var.evaluation_delay_seconds >= 0 && var.evaluation_delay_seconds <= 86400
    error_message = "evaluation_delay_seconds must be between 0 and 86400."
  }
}

variable "notify" {
  description = "Recipients appended to the message, e.g. [\"@slack-security-alerts\", \"@team-demo-api@example.com\"]."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.notify : startswith(n, "@")])
    error_message = "Each notify entry must be a Datadog handle starting with '@'."
  }
}

variable "priority" {
  description = "Monitor priority, 1 (highest) to 5."
  type        = number
  default     = 2

  validation {
    condition     = contains([1, 2, 3, 4, 5], var.priority)
    error_message = "priority must be 1, 2, 3, 4 or 5."
  }
}

variable "tags" {
  description = "Tags of the monitor (key:value strings)."
  type        = list(string)
  default     = ["service:ecr-scan-gate", "level:l2"]
}
