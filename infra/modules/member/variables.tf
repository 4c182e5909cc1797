variable "hub_role_arn" {
  description = "ARN of the gate function's execution role in the hub account (output function_role_arn of the hub module): the only principal the member role trusts."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.hub_role_arn))
    error_message = "hub_role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)."
  }
}

variable "hub_event_bus_arn" {
  description = "ARN of the hub's default event bus (output event_bus_arn of the hub module), where this member forwards its scan events. It may be in another region."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/default$", var.hub_event_bus_arn))
    error_message = "hub_event_bus_arn must be the ARN of a default event bus (arn:aws:events:REGION:ACCOUNT:event-bus/default)."
  }
}

variable "create_role" {
  description = "Create the role the gate assumes. IAM is global: true in exactly one instance of this module per member account, false in its other regions."
  type        = bool
  default     = true
}

variable "role_name" {
  description = "Name of the role the gate assumes here; the hub's member_role_name (MEMBER_ROLE_NAME) must be the same."
  type        = string
  default     = "ecr-scan-gate-member"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be an IAM role name (1-64 characters)."
  }
}

variable "external_id" {
  description = "External id the hub gives when it assumes the role (the hub's member_role_external_id). Null: no sts:ExternalId condition. Not a secret, but kept out of outputs."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.external_id == null ? true : length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/-]+$", var.external_id))
    error_message = "external_id must be 2-1224 characters of letters, digits and +=,.@:/-."
  }
}

variable "gated_repository_patterns" {
  description = "Repositories of this account the gate may act on: names or globs (`team-a/*`), [\"*\"] for all. They scope the role's ECR permissions in every region; the hub's own selection decides which events it evaluates."
  type        = list(string)
  default     = ["*"]

  validation {
    condition     = length(var.gated_repository_patterns) > 0 && alltrue([for p in var.gated_repository_patterns : can(regex("^[a-z0-9._/*-]{1,256}$", p))])
    error_message = "gated_repository_patterns must hold at least one repository name or glob (lowercase letters, digits, '.', '_', '-', '/', '*')."
  }
}

variable "forward_enhanced_scanning_events" {
  description = "Also forward Amazon Inspector events (Inspector2 Scan, Inspector2 Finding) and grant inspector2:ListFindings/ListCoverage to the role (like the hub's gate_enhanced_scanning_events)."
  type        = bool
  default     = true
}

variable "archive_enabled" {
  description = "Grant the role ecr:UpdateImageStorageClass (archive a failing image, restore it on release): true when the hub's policy archives (its block.archive is \"unused\" or \"always\"), like the hub's own role."
  type        = bool
  default     = false
}

variable "inspector_finding_severities" {
  description = "Severities of the Inspector2 Finding events forwarded (ACTIVE findings on ECR images); keep it equal to the hub's inspector_finding_severities."
  type        = list(string)
  default     = ["CRITICAL", "HIGH"]

  validation {
    condition     = length(var.inspector_finding_severities) > 0 && alltrue([for s in var.inspector_finding_severities : contains(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED"], s)])
    error_message = "inspector_finding_severities must list at least one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNTRIAGED."
  }
}

variable "name" {
  description = "Prefix of the forwarding rule and its role in this member (the rule is per region; the role name gets the region)."
  type        = string
  default     = "ecr-scan-gate"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$", var.name))
    error_message = "name must be 1-30 characters of letters, digits, '-' or '_'."
  }
}

variable "tags" {
  description = "Tags of every resource of this module."
  type        = map(string)
  default     = {}
}
