variable "name" {
  description = "Name of the gate: the hub's function (and prefix of its role `<name>-function`, bus `<name>-hub` and other resources), the member role `<name>-member`, and the prefix of each member's forwarding rules, role and dead-letter queue."
  type        = string
  default     = "ecr-scan-gate"

  # The member module's rule (the stricter): its forwarding role is
  # `<name>-forward-<region>`, at most 64 characters.
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$", var.name))
    error_message = "name must be 1-30 characters of letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "hub_account_id" {
  description = "Account of the security team that runs the gate (the hub)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.hub_account_id))
    error_message = "hub_account_id must be a 12-digit account id."
  }
}

variable "hub_region" {
  description = "Region of the gate function and of the hub bus (`<name>-hub`)."
  type        = string
  default     = "ap-northeast-1"
}

variable "member_a_account_id" {
  description = "First member account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.member_a_account_id))
    error_message = "member_a_account_id must be a 12-digit account id."
  }
}

variable "member_a_region" {
  description = "Region of the first member's repositories."
  type        = string
  default     = "ap-northeast-1"
}

variable "member_b_account_id" {
  description = "Second member account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.member_b_account_id))
    error_message = "member_b_account_id must be a 12-digit account id."
  }
}

variable "member_b_region" {
  description = "Region of the second member's repositories (events cross regions to the hub bus)."
  type        = string
  default     = "us-east-1"
}

variable "organization_id" {
  description = "AWS Organizations id; null when the accounts are not in one organisation."
  type        = string
  default     = null
}

variable "member_role_external_id" {
  description = "External id of the member roles (not a secret; never an output). Null: none."
  type        = string
  default     = null
  sensitive   = true
}

variable "deployment_role_name" {
  description = "Role Terraform assumes in each account to deploy."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "lambda_zip_path" {
  description = "The function zip (e.g. the downloaded release asset ecr-scan-gate-lambda-arm64.zip)."
  type        = string
  default     = "ecr-scan-gate-lambda-arm64.zip"
}
