variable "path" {
  description = "The gate's exceptions_parameter_path (output exceptions_parameter_path of the gate module), e.g. `/ecr-scan-gate/exceptions/`: starts and ends with '/'. The team's parameter is `<path><team>`."
  type        = string

  validation {
    condition     = length(var.path) <= 900 && can(regex("^/([A-Za-z0-9_.-]+/){1,14}$", var.path))
    error_message = "path must be the gate's exceptions_parameter_path: an SSM path that starts and ends with '/', with at least one level (e.g. /ecr-scan-gate/exceptions/)."
  }
}

variable "team" {
  description = "The team's name: the last segment of its parameter `<path><team>`, and of the IAM policy's name. One segment (no '/'): the team gets one parameter, not a sub-tree."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.team))
    error_message = "team must be 1-64 letters, digits, '_', '.' or '-' (no '/': one parameter per team)."
  }
}

variable "document" {
  description = "The team's exceptions document as a Terraform object (or `jsondecode(file(\"exceptions.json\"))`): `{ repositories = [globs], allowlist = [...], vex = [...] }`. Its entries only excuse findings in the repositories it lists. Written once, when the parameter is created: from then on the team owns the value (it writes it with `aws ssm put-parameter --overwrite`), and Terraform does not put this one back."
  type        = any

  # Only the shape is checked here; the gate checks the entries
  # (`ecr-scan-gate-check policy validate --exceptions FILE`).
  validation {
    condition     = can(keys(var.document))
    error_message = "document must be an object: { repositories = [...], allowlist = [...], vex = [...] }."
  }

  # The gate refuses any other key (as it does a bad document: at start).
  validation {
    condition     = try(alltrue([for k in keys(var.document) : contains(["repositories", "allowlist", "vex"], k)]), false)
    error_message = "document may only have the keys repositories, allowlist and vex (inline OpenVEX documents)."
  }

  validation {
    condition     = try(length(var.document.repositories) > 0 && alltrue([for r in var.document.repositories : can(regex("^\\S+$", r))]), false)
    error_message = "document.repositories must be a non-empty list of repository name globs (e.g. [\"team-a/*\"]): a team document only excuses findings in the repositories it names."
  }

  validation {
    condition     = try(length(jsonencode(var.document)) <= 8192, false)
    error_message = "document must encode to at most 8192 characters, the limit of an SSM Advanced parameter (up to 4096 it is a free Standard parameter)."
  }
}

variable "type" {
  description = "`String` (default: exception documents are not secrets) or `SecureString`, encrypted with kms_key_arn or, when that is null, the AWS-managed aws/ssm key."
  type        = string
  default     = "String"

  validation {
    condition     = contains(["String", "SecureString"], var.type)
    error_message = "type must be String or SecureString."
  }
}

variable "kms_key_arn" {
  description = "With type = SecureString: the key that encrypts the parameter. Null: the AWS-managed aws/ssm key (every principal of the account may use it through SSM; no grant needed). Otherwise the gate's key (output kms_key_arn of the gate module), which the gate function may already decrypt: the team's policy then gets kms:Encrypt, kms:GenerateDataKey and kms:Decrypt on it through SSM for its own parameter only. Another key would need a grant to the gate function that this module does not make."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }

  validation {
    condition     = var.kms_key_arn == null ? true : var.type == "SecureString"
    error_message = "kms_key_arn only applies to type = SecureString."
  }
}

variable "role_name" {
  description = "Name of the team's IAM role to attach the policy to (its CI or its people's role). Null: attach the output policy_arn yourself, to one principal of the team."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null ? true : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be an IAM role name (1-64 characters), not an ARN."
  }
}

variable "policy_name_prefix" {
  description = "Prefix of the IAM policy's name, `<prefix>-<team>`."
  type        = string
  default     = "ecr-scan-gate-exceptions"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,60}$", var.policy_name_prefix))
    error_message = "policy_name_prefix must be 1-60 characters valid in an IAM policy name."
  }
}

variable "tags" {
  description = "Tags of the parameter and the policy."
  type        = map(string)
  default     = {}
}
