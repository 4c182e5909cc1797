###############################################################################
# General
###############################################################################

variable "name" {
  description = "Name of the function and prefix of every other resource of the gate (topic, queue, rules, key alias, SSM parameters)."
  type        = string
  default     = "ecr-scan-gate"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits, '-' or '_', starting with a letter or digit (it prefixes names limited to 64 characters)."
  }
}

variable "environment" {
  description = "Value of the `Environment` tag of the ECR repositories (design section 2.2: `poc`)."
  type        = string
  default     = "poc"

  validation {
    condition     = length(var.environment) > 0 && length(var.environment) <= 256
    error_message = "environment must be 1-256 characters (an AWS tag value)."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags. The ECR repositories also get `Name` and `Environment` (design section 2.2)."
  type        = map(string)
  default     = {}
}

variable "role_path" {
  description = "Path of every IAM role this module creates (the function's, the scheduler's, the ECS hook's, the Chatbot channel's), e.g. `/security/`. Their ARNs (outputs function_role_arn, ecs_hook_role_arn) carry it. Default `/`."
  type        = string
  default     = "/"

  validation {
    condition     = length(var.role_path) <= 512 && can(regex("^/([\\x21-\\x7E]+/)?$", var.role_path))
    error_message = "role_path must be an IAM path: `/` alone, or printable ASCII characters between a leading and a trailing `/` (e.g. /security/), at most 512 characters."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary (a managed policy ARN) of every IAM role this module creates. Null (default): none. Set it where your organisation requires a boundary on roles that a pipeline creates."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN (arn:aws:iam::123456789012:policy/NAME)."
  }
}

###############################################################################
# ECR (design sections 2-4)
###############################################################################

variable "repository_names" {
  description = "ECR repositories this module creates exactly as the design has them (MUTABLE, scan on push, AES256, lifecycle policy) and gates. The first one is the repository of the outputs `ecr_repository_url` / `ecr_repository_arn`. Add names to gate more repositories."
  type        = list(string)
  default     = ["demo-api"]

  validation {
    condition = alltrue([
      for n in var.repository_names :
      length(n) >= 2 && length(n) <= 256 && can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", n))
    ])
    error_message = "Each repository name must match ECR's pattern: 2-256 characters, lowercase letters, digits, and '.', '_', '-' or '/' as separators (not at the start or end, not repeated)."
  }

  validation {
    condition     = length(distinct(var.repository_names)) == length(var.repository_names)
    error_message = "repository_names must not repeat a name."
  }
}

variable "existing_repository_names" {
  description = "ECR repositories that already exist (created elsewhere) in this account and region, to gate as well. The module does not manage them; it only subscribes the gate to their scan events and grants it access to them."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for n in var.existing_repository_names :
      length(n) >= 2 && length(n) <= 256 && can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", n))
    ])
    error_message = "Each repository name must match ECR's pattern: 2-256 characters, lowercase letters, digits, and '.', '_', '-' or '/' as separators."
  }

  validation {
    condition     = length(distinct(var.existing_repository_names)) == length(var.existing_repository_names)
    error_message = "existing_repository_names must not repeat a name."
  }

  validation {
    condition     = length(setintersection(var.existing_repository_names, var.repository_names)) == 0
    error_message = "A repository is either created here (repository_names) or existing (existing_repository_names), not both."
  }

  validation {
    condition     = length(var.repository_names) + length(var.existing_repository_names) + length(var.gated_repository_patterns) > 0
    error_message = "The gate needs at least one repository: set repository_names, existing_repository_names or gated_repository_patterns."
  }
}

variable "gated_repository_patterns" {
  description = <<-EOT
    Gate repositories by name glob, besides repository_names and existing_repository_names
    (explicit names). `*` matches any characters, `/` included: `team-a/*` (every repository
    under team-a/, an EventBridge `prefix` match), `*-prod` (an EventBridge `wildcard` match),
    or `["*"]` alone for every repository of the account (and, with member_accounts, of the
    members). The IAM resources follow (`arn:...:repository/team-a/*`). Globs keep the event
    patterns small: EventBridge refuses a pattern above 2048 characters, about 25 listed names.
  EOT
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.gated_repository_patterns : can(regex("^[a-z0-9._/*-]{1,256}$", p)) && !strcontains(p, "**")])
    error_message = "Each gated_repository_patterns entry is a repository name glob: lowercase letters, digits, '.', '_', '-', '/' and '*' (not '**')."
  }

  validation {
    condition     = !contains(var.gated_repository_patterns, "*") || length(var.gated_repository_patterns) == 1
    error_message = "gated_repository_patterns = [\"*\"] already gates every repository: give \"*\" alone."
  }
}

variable "gate_regions" {
  description = <<-EOT
    Regions of this account whose gated repositories the gate serves, besides the function's own
    region (always served). The function's role gets its ECR permissions on the gated
    repositories of each (`arn:...:ecr:<region>:<account>:repository/<glob>`), and the scheduled
    sweep covers each (as `sweep_input.regions`, unless that is set; it must then name regions of
    this list). Scan events of another region reach the function only when modules/member runs
    in that region of this account (`create_role = false`) and forwards them to the hub bus
    (output event_bus_arn). Null (default): the function's region only.
  EOT
  type        = list(string)
  default     = null

  validation {
    condition     = var.gate_regions == null ? true : alltrue([for r in var.gate_regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", r))])
    error_message = "gate_regions must hold AWS region names such as eu-west-1 or us-gov-west-1."
  }

  validation {
    condition     = var.gate_regions == null ? true : length(distinct(var.gate_regions)) == length(var.gate_regions)
    error_message = "gate_regions must not repeat a region."
  }
}

variable "untagged_image_expiry_days" {
  description = "Lifecycle rule 1 (design section 3): untagged images expire this many days after push."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "untagged_image_expiry_days must be a whole number of days, at least 1."
  }
}

variable "enable_tagged_image_count_rule" {
  description = "Lifecycle rule 2 (design section 3, optional, recommended for production): keep only the newest `tagged_image_count` images whose tag starts with one of `tagged_image_prefixes`."
  type        = bool
  default     = false
}

variable "tagged_image_count" {
  description = "Lifecycle rule 2: number of matching tagged images to keep (design: 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.tagged_image_count >= 1 && floor(var.tagged_image_count) == var.tagged_image_count
    error_message = "tagged_image_count must be a whole number, at least 1."
  }
}

variable "tagged_image_prefixes" {
  description = "Lifecycle rule 2: tag prefixes of the images it counts (design: [\"v\"], release tags such as v1.0.0)."
  type        = list(string)
  default     = ["v"]

  validation {
    condition     = length(var.tagged_image_prefixes) > 0 && alltrue([for p in var.tagged_image_prefixes : can(regex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$", p))])
    error_message = "tagged_image_prefixes must hold at least one prefix made of the characters of an image tag."
  }
}

variable "ecs_execution_role_arns" {
  description = "Repository policy (design section 4, optional): IAM roles, typically the ECS task execution role, allowed to pull (GetDownloadUrlForLayer, BatchGetImage, BatchCheckLayerAvailability). Empty: no repository policy."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ecs_execution_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "Each entry must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)."
  }
}

###############################################################################
# Function
###############################################################################

variable "lambda_zip_path" {
  description = "Local path of the function zip: the release asset `ecr-scan-gate-lambda-<architecture>.zip` you downloaded (no Rust needed), or the zip of `cargo lambda build --release --arm64 --output-format zip --bin ecr-scan-gate --lambda-dir target/lambda-arm64`. Null: `<repository root>/target/lambda-<architecture>/ecr-scan-gate/bootstrap.zip` (default architecture arm64: target/lambda-arm64/...), resolved from this module's directory. Ignored when lambda_s3_bucket is set."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_path == null ? true : can(regex("\\.zip$", var.lambda_zip_path))
    error_message = "lambda_zip_path must name a .zip file."
  }
}

variable "lambda_s3_bucket" {
  description = "S3 bucket of the function zip (e.g. the release zip uploaded to your artifacts bucket, same region as the function). Set with lambda_s3_key; replaces lambda_zip_path."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_s3_bucket == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lambda_s3_bucket))
    error_message = "lambda_s3_bucket must be an S3 bucket name."
  }
}

variable "lambda_s3_key" {
  description = "S3 key of the function zip, with lambda_s3_bucket, e.g. `ecr-scan-gate/v0.1.0/ecr-scan-gate-lambda-arm64.zip`."
  type        = string
  default     = null

  validation {
    condition     = (var.lambda_s3_key == null) == (var.lambda_s3_bucket == null)
    error_message = "lambda_s3_bucket and lambda_s3_key go together: set both or neither."
  }

  validation {
    condition     = var.lambda_s3_key == null ? true : endswith(var.lambda_s3_key, ".zip")
    error_message = "lambda_s3_key must name a .zip object."
  }
}

variable "lambda_s3_object_version" {
  description = "Version id of the S3 object (versioned bucket): a new version updates the function. Without it, change the key for each release."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_s3_object_version == null ? true : var.lambda_s3_bucket != null
    error_message = "lambda_s3_object_version needs lambda_s3_bucket and lambda_s3_key."
  }
}

variable "architecture" {
  description = "Instruction set of the function: `arm64` (default) or `x86_64`. The zip must be built for it: the release assets ecr-scan-gate-lambda-arm64.zip and ecr-scan-gate-lambda-x86_64.zip, or `cargo lambda build --release --arm64` (`--x86-64`) `--output-format zip --bin ecr-scan-gate --lambda-dir target/lambda-<architecture>`, whose zip is the default lambda_zip_path. A release zip named for the other architecture stops the plan."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB. CPU grows with it; at 128 MB the first TLS handshake dominates a cold start, hence 256."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of the function in seconds: a few AWS calls, SNS and Slack (with bounded retries on 429/5xx). At least 20 with sweep_queue_enabled (a queue record: one page of findings and a tag change with retries)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }

  # A record of the sweep queue needs one page of findings plus a tag change
  # with its retries, about 20 s: a shorter timeout fails records forever.
  validation {
    condition     = var.sweep_queue_enabled ? var.timeout >= 20 : true
    error_message = "timeout must be at least 20 s while sweep_queue_enabled is true: each sweep queue record needs one page of findings plus a tag change with its retries, about 20 s. Raise timeout or set sweep_queue_enabled = false."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function. -1: no reservation (the account's unreserved pool). A small number (e.g. 5) caps parallel Slack posts; it needs the account to keep 100 unreserved."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions == -1 ? true : (var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions must be -1 (no reservation) or a whole number >= 1 (0 would stop the gate)."
  }

  # The sweep queue's event-source mapping runs up to sweep_max_concurrency
  # invocations: a smaller reservation throttles them (and the scan events with
  # them), and Lambda returns the throttled messages to the queue until they
  # land in the sweep dead-letter queue.
  validation {
    condition     = var.reserved_concurrent_executions == -1 ? true : (var.sweep_queue_enabled ? var.reserved_concurrent_executions >= var.sweep_max_concurrency : true)
    error_message = "reserved_concurrent_executions must be at least sweep_max_concurrency while sweep_queue_enabled is true: the sweep queue alone runs that many invocations at once. Raise the reservation, lower sweep_max_concurrency, or use -1 (no reservation)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group (its decisions, one JSON line each, and the EMF metrics)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing of the function: `PassThrough` (default; the code is not instrumented) or `Active` (adds the X-Ray write permissions)."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "rust_log" {
  description = "RUST_LOG of the function (tracing filter), e.g. `info` or `info,ecr_scan_gate=debug`."
  type        = string
  default     = "info"

  validation {
    condition     = can(regex("^[A-Za-z0-9_:=,.\\[\\]{}-]+$", var.rust_log))
    error_message = "rust_log must be a tracing filter such as info or info,ecr_scan_gate=debug."
  }
}

variable "dry_run" {
  description = "DRY_RUN of the function: true decides and reports in the logs, but tags nothing and sends nothing."
  type        = bool
  default     = false
}

variable "quarantine_tag_prefix" {
  description = "QUARANTINE_TAG_PREFIX: prefix of the image tag that marks a failing digest (the suffix is derived from the digest)."
  type        = string
  default     = "quarantine-"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$", var.quarantine_tag_prefix))
    error_message = "quarantine_tag_prefix must be 1-64 characters valid in an image tag (letters, digits, '.', '_', '-'; not starting with '.' or '-')."
  }
}

variable "async_maximum_retry_attempts" {
  description = "Asynchronous invocations: retries after a failed invocation (0-2) before the event goes to the dead-letter queue."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.async_maximum_retry_attempts)
    error_message = "async_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "async_maximum_event_age_seconds" {
  description = "Asynchronous invocations: an event older than this (60-21600 s) is not retried but sent to the dead-letter queue."
  type        = number
  default     = 3600

  validation {
    condition     = var.async_maximum_event_age_seconds >= 60 && var.async_maximum_event_age_seconds <= 21600
    error_message = "async_maximum_event_age_seconds must be between 60 and 21600."
  }
}

###############################################################################
# Policy
###############################################################################

variable "gate_policy" {
  description = "The gate's policy document, stored as JSON in the SSM SecureString parameter named by GATE_POLICY_PARAMETER (encrypted with the gate's key; only the identity that applies and policy_writer_arns may write it). Keys: fail, warn, fail_if, warn_if, allowlist, ignore_unfixed, on_scan_failure, notify, strip_tags, repositories, block (`{archive = \"off\" | \"unused\" | \"always\", in_use_days = 30}`: also archive a failing image, so that it cannot be pulled; an archive other than \"off\" grants the function ecr:UpdateImageStorageClass on the gated repositories), ecs_hook (`{max_wait_s = 600, non_ecr = \"allow\" | \"block\"}`: the ECS deployment lifecycle hook's wait for a scan and its answer for images outside ECR). Default: the design's rule, CRITICAL >= 1 fails and HIGH >= 1 warns. Size: up to 4096 bytes as stored (JSON-encoded) the parameter is Standard (free); above that Terraform makes it Advanced (up to 8192), which AWS bills per parameter-month and per API call (AWS Systems Manager pricing), and which becomes Standard again only by replacement when the policy shrinks."
  type        = any
  default = {
    fail            = { CRITICAL = 1 }
    warn            = { HIGH = 1 }
    allowlist       = []
    ignore_unfixed  = false
    on_scan_failure = "alert"
    notify          = ["FAIL", "ERROR"]
    strip_tags      = []
    repositories    = []
  }

  # Only the shape is checked here. What the keys mean is checked by the
  # function's own rules: `make deploy` runs `ecr-scan-gate-check policy validate`
  # on the policy before apply, and the function refuses an invalid policy at start.
  validation {
    condition     = can(keys(var.gate_policy))
    error_message = "gate_policy must be an object (the JSON policy document as a Terraform object)."
  }

  validation {
    condition     = length(jsonencode(var.gate_policy)) <= 8192
    error_message = "gate_policy must encode to at most 8192 characters, the limit of an SSM Advanced parameter (up to 4096 it is a free Standard parameter). Move allowlist entries to team exception documents (exceptions_parameter_path) to make room."
  }
}

variable "gate_policy_json" {
  description = "The policy as JSON text, e.g. `file(\"policy.json\")`; when set it replaces gate_policy. `make deploy` with GATE_POLICY_FILE passes the file it validated here, so the deployed policy is the validated one. At most 8192 characters; as for gate_policy, above 4096 bytes as stored the parameter is Advanced, which AWS bills (per parameter-month and per API call)."
  type        = string
  default     = null

  validation {
    condition     = var.gate_policy_json == null ? true : can(keys(jsondecode(var.gate_policy_json)))
    error_message = "gate_policy_json must be a JSON object."
  }

  validation {
    condition     = var.gate_policy_json == null ? true : length(var.gate_policy_json) <= 8192
    error_message = "gate_policy_json must be at most 8192 characters, the limit of an SSM Advanced parameter (up to 4096 it is a free Standard parameter). Move allowlist entries to team exception documents (exceptions_parameter_path) to make room."
  }
}

variable "exceptions_parameter_path" {
  description = "EXCEPTIONS_PARAMETER_PATH: an SSM path such as `/ecr-scan-gate/exceptions/` under which every parameter is one team's exceptions document (`{\"repositories\": [globs], \"allowlist\": [...], \"vex\": [...]}`), read by the function with GetParametersByPath (recursive, decrypted) and merged into the policy; a document only excuses findings of the repositories it lists. Grants the function ssm:GetParametersByPath on that path only. Null (default): no team documents. modules/team-exceptions creates one team's parameter and the IAM policy that lets the team write it and nothing else."
  type        = string
  default     = null

  # Terraform 1.11 evaluates both sides of || and &&: test null with a conditional.
  validation {
    condition     = var.exceptions_parameter_path == null ? true : length(var.exceptions_parameter_path) <= 900 && can(regex("^/([A-Za-z0-9_.-]+/){1,14}$", var.exceptions_parameter_path))
    error_message = "exceptions_parameter_path must be an SSM path that starts and ends with '/', with at least one level (e.g. /ecr-scan-gate/exceptions/): letters, digits, '_', '.', '-' between the slashes, at most 14 levels (SSM allows 15 with the team's name) and 900 characters. \"/\" alone would be every parameter of the account."
  }

  validation {
    condition     = var.exceptions_parameter_path == null ? true : !can(regex("^/(?i)(aws|ssm)", var.exceptions_parameter_path))
    error_message = "exceptions_parameter_path must not begin with aws or ssm: SSM reserves those prefixes."
  }

  # The gate's own parameters are not exception documents, and the function
  # would read the Slack webhook URL as one.
  validation {
    condition = var.exceptions_parameter_path == null ? true : !anytrue([
      for n in [local.gate_policy_parameter_name, local.slack_webhook_parameter_name] : startswith(n, var.exceptions_parameter_path)
    ])
    error_message = "exceptions_parameter_path must not hold the gate's own parameters (gate_policy_parameter_name, slack_webhook_parameter_name): choose a path of its own, e.g. /<name>/exceptions/."
  }
}

variable "gate_policy_parameter_name" {
  description = "Name of the SSM SecureString parameter that holds the policy (GATE_POLICY_PARAMETER). Null: `/<name>/policy`."
  type        = string
  default     = null

  validation {
    condition     = var.gate_policy_parameter_name == null ? true : length(var.gate_policy_parameter_name) <= 1011 && can(regex("^/[A-Za-z0-9_.\\-/]+$", var.gate_policy_parameter_name))
    error_message = "gate_policy_parameter_name must be a hierarchical SSM name starting with '/' (letters, digits, '_', '.', '-', '/')."
  }
}

variable "policy_writer_arns" {
  description = "IAM roles or users (ARNs) that may write the policy parameter besides the identity that applies this configuration. The parameter is a SecureString under the gate's key, and the key refuses the encryption of a value for that parameter to everyone else (kms.tf), so `aws ssm put-parameter` by any other principal fails, whatever its SSM permissions. The identity that applies is recognised by its unique id (aws:userid: every session of the role, whatever its path), and is the one that wrote the parameter last. Default []: that identity only. E.g. a break-glass role."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.policy_writer_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "Each policy_writer_arns entry must be an IAM role or user ARN (arn:aws:iam::123456789012:role/NAME; not an assumed-role session ARN)."
  }
}

###############################################################################
# ECS deployment lifecycle hook
###############################################################################

variable "ecs_hook_enabled" {
  description = "Let Amazon ECS use the function as a deployment lifecycle hook (blue/green, linear, canary deployments of ECS services of this account and region): creates the role ECS assumes to invoke it (trust ecs.amazonaws.com from this account; lambda:InvokeFunction on this function only; output ecs_hook_role_arn) and grants the function ecs:DescribeServiceRevisions. A service uses the hook only when its deployment configuration names it (examples/ecs-lifecycle-hook)."
  type        = bool
  default     = true
}

###############################################################################
# Alerts: SNS, e-mail, Slack
###############################################################################

variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alert topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Each alert_email_addresses entry must be an e-mail address."
  }
}

variable "slack_webhook_enabled" {
  description = "Send alerts to a Slack incoming webhook whose URL is read from an SSM SecureString (SLACK_WEBHOOK_PARAMETER)."
  type        = bool
  default     = false
}

variable "create_slack_webhook_parameter" {
  description = "With slack_webhook_enabled: true creates the SecureString from `slack_webhook_url` (write-only: never in plan, state or outputs); false uses a parameter created outside Terraform under `slack_webhook_parameter_name`."
  type        = bool
  default     = true
}

variable "slack_webhook_url" {
  description = "The Slack incoming-webhook URL (a secret). Only with slack_webhook_enabled and create_slack_webhook_parameter; pass it on every plan/apply, e.g. TF_VAR_slack_webhook_url from a secret store. Ephemeral and write-only: it never reaches the plan, the state or an output."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.slack_webhook_url == null ? true : can(regex("^https://hooks\\.slack\\.com/", var.slack_webhook_url))
    error_message = "slack_webhook_url must be a Slack incoming-webhook URL (https://hooks.slack.com/...)."
  }
}

variable "slack_webhook_url_version" {
  description = "Version of `slack_webhook_url`: increase it to write a new URL (rotation). Terraform cannot see a write-only value change by itself."
  type        = number
  default     = 1

  validation {
    condition     = var.slack_webhook_url_version >= 1 && floor(var.slack_webhook_url_version) == var.slack_webhook_url_version
    error_message = "slack_webhook_url_version must be a whole number, at least 1."
  }
}

variable "slack_webhook_parameter_name" {
  description = "Name of the SSM SecureString that holds the Slack webhook URL (SLACK_WEBHOOK_PARAMETER). Null: `/<name>/slack-webhook-url`."
  type        = string
  default     = null

  validation {
    condition     = var.slack_webhook_parameter_name == null ? true : length(var.slack_webhook_parameter_name) <= 1011 && can(regex("^/[A-Za-z0-9_.\\-/]+$", var.slack_webhook_parameter_name))
    error_message = "slack_webhook_parameter_name must be a hierarchical SSM name starting with '/' (letters, digits, '_', '.', '-', '/')."
  }
}

variable "chatbot_slack" {
  description = <<-EOT
    Optional AWS Chatbot (Amazon Q Developer in chat applications) Slack channel subscribed to the
    alert topic (the workspace must first be authorized in the Chatbot console). What it is for:
    the CloudWatch alarms of the gate (function errors, dead-letter queues, sweep), which Chatbot
    renders with their graphs, and reading the gate's logs and alarms from the channel. It does
    NOT show the gate's own alerts (FAIL, ERROR, quarantines): the function publishes them to the
    topic in a format Chatbot does not display. For those use slack_webhook_enabled (or e-mail).
    The channel role and, by default, the guardrail are a read-only policy of this module on the
    function's log group and the gate's alarms and metrics only (CloudWatch has no resource-level
    permission for metric data: GetMetricData and GetMetricWidgetImage are on "*"); never the
    AdministratorAccess that Chatbot applies when no guardrail is given. `guardrail_policy_arns`
    replaces that guardrail. `user_authorization_required` (default true): each Slack user acts
    with an IAM role of their own, not with the channel role.
  EOT
  type = object({
    team_id                     = string
    channel_id                  = string
    guardrail_policy_arns       = optional(list(string))
    logging_level               = optional(string, "ERROR")
    user_authorization_required = optional(bool, true)
  })
  default = null

  # Terraform 1.11 evaluates both sides of || and &&: test null with a conditional.
  validation {
    condition = var.chatbot_slack == null ? true : (
      can(regex("^[A-Za-z0-9]+$", var.chatbot_slack.team_id)) &&
      can(regex("^[A-Za-z0-9]+$", var.chatbot_slack.channel_id)) &&
      contains(["ERROR", "INFO", "NONE"], var.chatbot_slack.logging_level)
    )
    error_message = "chatbot_slack needs the Slack team_id (workspace ID, e.g. T07EA123LEP) and channel_id (e.g. C07EZ1ABC23), and logging_level ERROR, INFO or NONE."
  }

  validation {
    condition = var.chatbot_slack == null ? true : (var.chatbot_slack.guardrail_policy_arns == null ? true : alltrue([
      for a in var.chatbot_slack.guardrail_policy_arns :
      can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a)) && !can(regex("AdministratorAccess$", a))
    ]))
    error_message = "chatbot_slack.guardrail_policy_arns must be IAM policy ARNs, and not AdministratorAccess."
  }

  # An empty list would make Chatbot fall back to AdministratorAccess.
  validation {
    condition     = var.chatbot_slack == null ? true : (var.chatbot_slack.guardrail_policy_arns == null ? true : length(var.chatbot_slack.guardrail_policy_arns) > 0)
    error_message = "chatbot_slack.guardrail_policy_arns must not be empty (Chatbot would apply AdministratorAccess): leave it out for the module's read-only guardrail, or name policies."
  }

  validation {
    condition     = var.chatbot_slack == null ? true : var.chatbot_slack.user_authorization_required != null
    error_message = "chatbot_slack.user_authorization_required must be true or false (default true)."
  }
}

###############################################################################
# Events
###############################################################################

variable "gate_enhanced_scanning_events" {
  description = "Subscribe the gate to Amazon Inspector (enhanced scanning) events, `Inspector2 Scan` and `Inspector2 Finding`, and grant `inspector2:ListFindings` and `inspector2:ListCoverage`, which ECR's DescribeImageScanFindings needs on a registry with enhanced scanning. It does not turn enhanced scanning on: see registry_scan_type."
  type        = bool
  default     = true
}

variable "registry_scan_type" {
  description = "Null (default): leave the registry's scanning configuration alone (the design's repositories scan on push themselves). `BASIC` or `ENHANCED`: manage the account's registry scanning configuration (one per account and region, it replaces what is there) with one rule over the gated repositories. `ENHANCED` turns on Amazon Inspector (it costs per image) and needs gate_enhanced_scanning_events."
  type        = string
  default     = null

  validation {
    condition     = var.registry_scan_type == null ? true : contains(["BASIC", "ENHANCED"], var.registry_scan_type)
    error_message = "registry_scan_type must be null, BASIC or ENHANCED."
  }

  validation {
    condition     = var.registry_scan_type == "ENHANCED" ? var.gate_enhanced_scanning_events : true
    error_message = "registry_scan_type = ENHANCED needs gate_enhanced_scanning_events = true, or the gate would never hear of a scan."
  }
}

variable "registry_scan_frequency" {
  description = "With registry_scan_type: `SCAN_ON_PUSH`, or for ENHANCED also `CONTINUOUS_SCAN` (default: rescans as new CVEs are published, which is what Inspector2 Finding events report)."
  type        = string
  default     = "CONTINUOUS_SCAN"

  validation {
    condition     = contains(["SCAN_ON_PUSH", "CONTINUOUS_SCAN"], var.registry_scan_frequency)
    error_message = "registry_scan_frequency must be SCAN_ON_PUSH or CONTINUOUS_SCAN."
  }
}

variable "inspector_finding_severities" {
  description = "Severities of the `Inspector2 Finding` events that invoke the function (only ACTIVE findings on ECR images). Default CRITICAL and HIGH: with the default policy nothing lower can change a verdict. A policy that fails or warns on lower severities (e.g. `fail = { MEDIUM = 5 }`) must widen this list, or a new finding of that severity waits for the next scan or sweep."
  type        = list(string)
  default     = ["CRITICAL", "HIGH"]

  validation {
    condition     = length(var.inspector_finding_severities) > 0 && alltrue([for s in var.inspector_finding_severities : contains(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED"], s)])
    error_message = "inspector_finding_severities must list at least one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNTRIAGED."
  }
}

variable "event_target_maximum_retry_attempts" {
  description = "EventBridge target retry policy: attempts to deliver an event to the function (0-185) before the dead-letter queue."
  type        = number
  default     = 24

  validation {
    condition     = var.event_target_maximum_retry_attempts >= 0 && var.event_target_maximum_retry_attempts <= 185
    error_message = "event_target_maximum_retry_attempts must be between 0 and 185."
  }
}

variable "event_target_maximum_event_age_seconds" {
  description = "EventBridge target retry policy: how long (60-86400 s) EventBridge keeps trying to deliver an event."
  type        = number
  default     = 3600

  validation {
    condition     = var.event_target_maximum_event_age_seconds >= 60 && var.event_target_maximum_event_age_seconds <= 86400
    error_message = "event_target_maximum_event_age_seconds must be between 60 and 86400."
  }
}

###############################################################################
# Dead-letter queue, alarms, key
###############################################################################

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps a failed event (60 s to 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "alarm_period_seconds" {
  description = "Period of the CloudWatch alarms (function errors, messages in the dead-letter queues, age of the sweep queue, incomplete sweeps)."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.alarm_period_seconds)
    error_message = "alarm_period_seconds must be 60, 300, 900 or 3600."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the customer-managed KMS key (topic, queue, logs, webhook parameter) is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30."
  }
}

###############################################################################
# Sweep and report
###############################################################################

variable "sweep_schedule_enabled" {
  description = "Create the EventBridge Scheduler schedule that invokes the function with {\"sweep\": sweep_input} (sweep_schedule_expression, daily by default)."
  type        = bool
  default     = true
}

variable "sweep_schedule_expression" {
  description = "When the sweep runs: a Scheduler `cron(...)` or `rate(...)` expression, in schedule_timezone. Default: every day at 03:00."
  type        = string
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.sweep_schedule_expression))
    error_message = "sweep_schedule_expression must be a cron(...) or rate(...) expression."
  }
}

variable "sweep_input" {
  description = "The body of the sweep request, sent as {\"sweep\": <this>}. Keys (all optional): repositories (name globs; default: the gated repositories, GATE_REPOSITORIES), pushed_within_days, start_scans, accounts, regions (must be among the function's region and gate_regions; default: those regions, set here when gate_regions names more than the function's own). Default {}: every deployable image of the gated repositories."
  type        = any
  default     = {}

  validation {
    condition     = can(keys(var.sweep_input)) && alltrue([for k in keys(var.sweep_input) : contains(["repositories", "pushed_within_days", "start_scans", "accounts", "regions"], k)])
    error_message = "sweep_input must be an object with keys among repositories, pushed_within_days, start_scans, accounts, regions."
  }
}

variable "report_schedule_enabled" {
  description = "Create the EventBridge Scheduler schedule that invokes the function with {\"report\": {}} (report_schedule_expression, weekly by default): a digest of the quarantined images and of allowlist entries that expire soon."
  type        = bool
  default     = true
}

variable "report_schedule_expression" {
  description = "When the report is sent: a Scheduler `cron(...)` or `rate(...)` expression, in schedule_timezone. Default: Mondays at 08:00."
  type        = string
  default     = "cron(0 8 ? * MON *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.report_schedule_expression))
    error_message = "report_schedule_expression must be a cron(...) or rate(...) expression."
  }
}

variable "schedule_timezone" {
  description = "Time zone of the schedules (IANA name), e.g. `Asia/Tokyo`."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.schedule_timezone))
    error_message = "schedule_timezone must be an IANA time zone name such as UTC or Asia/Tokyo."
  }
}

variable "sweep_queue_enabled" {
  description = "Fan the sweep out through an SQS queue (SWEEP_QUEUE_URL): one message per image that needs a closer look, consumed by the same function at sweep_max_concurrency. False: the sweep evaluates images inline, within one invocation's timeout."
  type        = bool
  default     = true
}

variable "sweep_max_concurrency" {
  description = "Maximum concurrent invocations of the function by the sweep queue (the event-source mapping's maximum concurrency; Lambda's minimum is 2). It is the sweep's rate limit: each message costs a few ECR calls (DescribeImageScanFindings, BatchGetImage, PutImage), and ECR's per-account API rate quotas (a few to some tens of requests per second for PutImage and BatchGetImage) are shared with your pushes and pulls. Raise it only with the quotas of your account in view."
  type        = number
  default     = 2

  validation {
    condition     = var.sweep_max_concurrency >= 2 && var.sweep_max_concurrency <= 1000 && floor(var.sweep_max_concurrency) == var.sweep_max_concurrency
    error_message = "sweep_max_concurrency must be a whole number between 2 (Lambda's minimum) and 1000."
  }
}

variable "sweep_batch_size" {
  description = "Messages (images) per invocation from the sweep queue (1-10). Failed images are reported one by one (ReportBatchItemFailures)."
  type        = number
  default     = 5

  validation {
    condition     = var.sweep_batch_size >= 1 && var.sweep_batch_size <= 10 && floor(var.sweep_batch_size) == var.sweep_batch_size
    error_message = "sweep_batch_size must be a whole number between 1 and 10."
  }
}

variable "sweep_max_receive_count" {
  description = "Deliveries of a sweep message before it goes to the sweep dead-letter queue (the redrive policy's maxReceiveCount). Default 5: a message throttled by ECR or by the function's concurrency counts as received too, and 5 is AWS's advice for a Lambda event source."
  type        = number
  default     = 5

  validation {
    condition     = var.sweep_max_receive_count >= 1 && var.sweep_max_receive_count <= 1000 && floor(var.sweep_max_receive_count) == var.sweep_max_receive_count
    error_message = "sweep_max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "sweep_queue_age_alarm_seconds" {
  description = "Threshold of the alarm on the age of the oldest message in the sweep queue (AWS/SQS ApproximateAgeOfOldestMessage, Maximum), in seconds. Default 21600 (6 hours): a message that old means the queue's consumer is not keeping up or is failing. Below the queue's retention (4 days, 345600 s), after which SQS drops the message."
  type        = number
  default     = 21600

  validation {
    condition     = var.sweep_queue_age_alarm_seconds > 0 && var.sweep_queue_age_alarm_seconds < local.sweep_queue_message_retention_seconds
    error_message = "sweep_queue_age_alarm_seconds must be positive and below the sweep queue's message retention (345600 s, 4 days): a message older than that is already gone."
  }
}

###############################################################################
# Many accounts: this module is the hub
###############################################################################

variable "member_accounts" {
  description = "Member accounts whose scan events this hub gates: 12-digit account ids, or [\"*\"] for every account of the organisation (needs organization_id). Empty (default): single account, nothing below applies. Each member runs modules/member (a role for the gate, rules forwarding its gated repositories' scan events to the hub bus, output event_bus_arn)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.member_accounts : a == "*" ? length(var.member_accounts) == 1 : can(regex("^[0-9]{12}$", a))])
    error_message = "member_accounts must be 12-digit account ids, or [\"*\"] alone."
  }

  validation {
    condition     = contains(var.member_accounts, "*") ? var.organization_id != null : true
    error_message = "member_accounts = [\"*\"] (the whole organisation) needs organization_id."
  }
}

variable "organization_id" {
  description = "AWS Organizations id (o-xxxxxxxxxx). With it, only principals of the organisation may put events on the hub bus (aws:PrincipalOrgID), and with member_accounts = [\"*\"] any account of the organisation may, and the gate may assume the member role in any account of the organisation (aws:ResourceOrgID)."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null ? true : can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must look like o-abc123defg."
  }
}

variable "member_role_name" {
  description = "Name of the role the gate assumes in each member account (MEMBER_ROLE_NAME), optionally after its IAM path: `ecr-scan-gate-member`, or `security/ecr-scan-gate-member` for the role ecr-scan-gate-member under the path /security/. The gate assumes arn:<partition>:iam::<account>:role/<this>; modules/member creates it under the same name (and path)."
  type        = string
  default     = "ecr-scan-gate-member"

  # The function's own rule (src/engine/accounts.rs, validate_role_name): a role
  # name of 1-64 of letters, digits and +=,.@_-, after an optional path of
  # non-empty segments of the same characters, at most 511 characters.
  validation {
    condition     = can(regex("^([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$", var.member_role_name)) && length(var.member_role_name) - length(element(split("/", var.member_role_name), length(split("/", var.member_role_name)) - 1)) <= 512
    error_message = "member_role_name must be an IAM role name (1-64 letters, digits and +=,.@_-), optionally after a path such as security/ (segments of the same characters, no leading or trailing '/', at most 511 characters)."
  }
}

variable "member_role_external_id" {
  description = "Optional external id the gate gives when it assumes a member role (MEMBER_ROLE_EXTERNAL_ID); give modules/member the same. An external id is not a secret (it is in the function's environment), but it is kept out of outputs and logs."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.member_role_external_id == null ? true : length(var.member_role_external_id) >= 2 && length(var.member_role_external_id) <= 1224 && can(regex("^[A-Za-z0-9_+=,.@:/-]+$", var.member_role_external_id))
    error_message = "member_role_external_id must be 2-1224 characters of letters, digits and _+=,.@:/- (AWS's [\\w+=,.@:/-])."
  }
}

###############################################################################
# Dashboard
###############################################################################

variable "dashboard_enabled" {
  description = "Create the CloudWatch dashboard `<name>`: evaluations by verdict, Critical findings per repository, quarantines and releases, findings by severity, function errors, dead-letter queues."
  type        = bool
  default     = true
}
