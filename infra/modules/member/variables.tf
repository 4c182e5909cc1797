variable "hub_role_arn" {
  description = "ARN of the gate function's execution role in the hub account (output function_role_arn of the hub module): the only principal the member role trusts."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.hub_role_arn))
    error_message = "hub_role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)."
  }
}

variable "hub_event_bus_arn" {
  description = "ARN of the hub bus (output event_bus_arn of the hub module, `<name>-hub`), where this member forwards its scan events. It may be in another region. Its policy admits the member accounts' scan events only (events:source aws.ecr and aws.inspector2)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]{1,256}$", var.hub_event_bus_arn))
    error_message = "hub_event_bus_arn must be the ARN of an event bus (arn:aws:events:REGION:ACCOUNT:event-bus/NAME), the hub's output event_bus_arn."
  }

  # The hub no longer takes member events on its default bus.
  validation {
    condition     = !endswith(var.hub_event_bus_arn, ":event-bus/default")
    error_message = "hub_event_bus_arn must be the hub's own bus (output event_bus_arn, e.g. arn:aws:events:REGION:ACCOUNT:event-bus/ecr-scan-gate-hub), not its default bus: the hub admits member events only there."
  }
}

variable "create_role" {
  description = "Create the role the gate assumes. IAM is global: true in exactly one instance of this module per member account, false in its other regions."
  type        = bool
  default     = true
}

variable "role_name" {
  description = "Name of the role the gate assumes here, optionally after its IAM path (`security/ecr-scan-gate-member`: the role ecr-scan-gate-member under the path /security/); the hub's member_role_name (MEMBER_ROLE_NAME) must be the same."
  type        = string
  default     = "ecr-scan-gate-member"

  # The gate's own rule (src/engine/accounts.rs, validate_role_name).
  validation {
    condition     = can(regex("^([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name)) && length(var.role_name) - length(element(split("/", var.role_name), length(split("/", var.role_name)) - 1)) <= 512
    error_message = "role_name must be an IAM role name (1-64 letters, digits and +=,.@_-), optionally after a path such as security/ (segments of the same characters, no leading or trailing '/', at most 511 characters)."
  }
}

variable "role_regions" {
  description = "Regions where the gate may act on this account's repositories with the role (ECR permissions on repository_patterns in each). List every region where this account runs the module (the instance with create_role = true holds the role for all of them). Null (default): this instance's region only."
  type        = list(string)
  default     = null

  validation {
    condition     = var.role_regions == null ? true : length(var.role_regions) > 0 && alltrue([for r in var.role_regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", r))])
    error_message = "role_regions must hold at least one AWS region name such as eu-west-1."
  }
}

variable "role_path" {
  description = "IAM path of the forwarding role this module creates (the gate's role takes its path from role_name). Default `/`."
  type        = string
  default     = "/"

  validation {
    condition     = length(var.role_path) <= 512 && can(regex("^/([\\x21-\\x7E]+/)?$", var.role_path))
    error_message = "role_path must be an IAM path: `/` alone, or printable ASCII characters between a leading and a trailing `/`, at most 512 characters."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary (a managed policy ARN) of every IAM role this module creates. Null (default): none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN (arn:aws:iam::123456789012:policy/NAME)."
  }
}

variable "external_id" {
  description = "External id the hub gives when it assumes the role (the hub's member_role_external_id). Null: no sts:ExternalId condition. Not a secret, but kept out of outputs."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.external_id == null ? true : length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[A-Za-z0-9_+=,.@:/-]+$", var.external_id))
    error_message = "external_id must be 2-1224 characters of letters, digits and _+=,.@:/- (AWS's [\\w+=,.@:/-])."
  }
}

variable "repository_patterns" {
  description = "Required: the repositories of this account the gate serves, as names or globs (`team-a/*`, `*-prod`; `*` matches any characters, `/` included). Only their scan events are forwarded to the hub, and the role's ECR permissions cover only them (in role_regions). [\"*\"] alone is every repository, and must be chosen deliberately: no default. The hub's gated_repository_patterns must cover them too, or the hub drops their events."
  type        = list(string)

  validation {
    condition     = length(var.repository_patterns) > 0 && alltrue([for p in var.repository_patterns : can(regex("^[a-z0-9._/*-]{1,256}$", p)) && !strcontains(p, "**")])
    error_message = "repository_patterns must hold at least one repository name or glob (lowercase letters, digits, '.', '_', '-', '/', '*'; not '**')."
  }

  validation {
    condition     = !contains(var.repository_patterns, "*") || length(var.repository_patterns) == 1
    error_message = "repository_patterns = [\"*\"] already covers every repository: give \"*\" alone."
  }
}

variable "alarm_actions" {
  description = "Actions of the alarm on the forwarding dead-letter queue (ARNs, e.g. an SNS topic of this account and region that your on-call reads). Empty (default): the alarm changes state without notifying anyone; it still shows in the CloudWatch console."
  type        = list(string)
  default     = []
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
