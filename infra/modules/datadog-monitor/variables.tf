variable "name" {
  description = "Name of the monitor."
  type        = string
  default     = "[ECR] Critical vulnerabilities in an image (ecr-scan-gate)"

  validation {
    condition     = length(var.name) > 0 && length(var.name) <= 200
    error_message = "name must be 1-200 characters."
  }
}

variable "metric_name" {
  description = <<-EOT
    Datadog name of the function's `CriticalFindings` metric (CloudWatch namespace `ECRScanGate`,
    dimension `Repository`). The Datadog AWS integration, with custom metric collection on, names
    a custom namespace metric `<namespace>.<metric>`, both lowercased, an underscore put where a
    lowercase letter or digit is followed by an uppercase one (the rule that gives
    `aws.ec2.cpuutilization` and `aws.elb.healthy_host_count`), '/' turned into '.':
    `ECRScanGate` + `CriticalFindings` -> `ecrscan_gate.critical_findings`; the dimension becomes
    the tag `repository`. Check the name in Metrics Summary after the first data point.
  EOT
  type        = string
  default     = "ecrscan_gate.critical_findings"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_.]{0,199}$", var.metric_name))
    error_message = "metric_name must be a Datadog metric name: a letter, then letters, digits, '_' or '.'."
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
