variable "region" {
  description = "AWS region (the design uses ap-northeast-1)."
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-1."
  }
}

variable "alert_email_addresses" {
  description = "E-mail addresses that receive the gate's alerts and alarms."
  type        = list(string)
  default     = []
}

variable "ecs_execution_role_arns" {
  description = "ECS task execution role(s) allowed to pull (design section 4; empty: no repository policy)."
  type        = list(string)
  default     = []
}

variable "enable_tagged_image_count_rule" {
  description = "Lifecycle rule 2 of the design (keep 30 v* images), recommended for production."
  type        = bool
  default     = false
}

variable "slack_webhook_enabled" {
  description = "Post alerts to a Slack incoming webhook."
  type        = bool
  default     = false
}

variable "slack_webhook_url" {
  description = "Slack incoming-webhook URL; give it as TF_VAR_slack_webhook_url, never in a file."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "lambda_zip_path" {
  description = "Path of the function zip; null: the repository's target/lambda-arm64/ecr-scan-gate/bootstrap.zip."
  type        = string
  default     = null
}
