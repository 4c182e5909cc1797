variable "region" {
  description = "AWS region of the gate and of the ECS service (the hook serves services of its own account and region)."
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-1."
  }
}

variable "repository_names" {
  description = "Repositories the module creates and gates (the design's demo-api). The hook judges only images of gated repositories: gate every repository the service's task definition pulls from."
  type        = list(string)
  default     = ["demo-api"]
}

variable "existing_repository_names" {
  description = "Repositories created elsewhere that the service's images come from, gated as well."
  type        = list(string)
  default     = []
}

variable "lifecycle_stages" {
  description = "Deployment lifecycle stages at which ECS invokes the gate. PRE_SCALE_UP: before any task of the new service revision starts, so a failing image never runs."
  type        = list(string)
  default     = ["PRE_SCALE_UP"]

  validation {
    condition = length(var.lifecycle_stages) > 0 && alltrue([
      for s in var.lifecycle_stages : contains(["RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"], s)
    ])
    error_message = "lifecycle_stages must list ECS lifecycle stages: RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT."
  }
}

variable "bake_time_in_minutes" {
  description = "Blue/green bake time: how long ECS keeps the old revision after the traffic shift, for a quick rollback (0-1440)."
  type        = number
  default     = 5

  validation {
    condition     = var.bake_time_in_minutes >= 0 && var.bake_time_in_minutes <= 1440 && floor(var.bake_time_in_minutes) == var.bake_time_in_minutes
    error_message = "bake_time_in_minutes must be a whole number between 0 and 1440."
  }
}

variable "ecs_cluster_name" {
  description = "Cluster of the ECS service to wire (only for the update_service_command output); null: no command."
  type        = string
  default     = null
}

variable "ecs_service_name" {
  description = "The ECS service to wire (only for the update_service_command output); null: no command."
  type        = string
  default     = null
}

variable "lambda_zip_path" {
  description = "Path of the function zip; null: the repository's target/lambda-arm64/ecr-scan-gate/bootstrap.zip."
  type        = string
  default     = null
}
