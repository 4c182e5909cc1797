# The gate: a Rust function on the OS-only runtime, arm64 (var.architecture:
# or x86_64), built by cargo-lambda (`make deploy` -> scripts/deploy.sh builds
# the zip, then applies).

locals {
  # Where the code comes from: an S3 object (a release zip you uploaded), or a
  # local zip (a downloaded release zip, or the one `make deploy` builds).
  lambda_from_s3  = var.lambda_s3_bucket != null
  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.module}/../target/lambda-${var.architecture}/ecr-scan-gate/bootstrap.zip")

  # A release zip is named for its architecture
  # (ecr-scan-gate-lambda-<architecture>.zip): a zip or S3 key of that name for
  # the other architecture would fail at the first invocation (exec format error).
  lambda_code_name        = local.lambda_from_s3 ? var.lambda_s3_key : local.lambda_zip_path
  lambda_code_named_arch  = try(regex("ecr-scan-gate-lambda-(arm64|x86_64)\\.zip$", local.lambda_code_name)[0], null)
  lambda_code_arch_agrees = local.lambda_code_named_arch == null ? true : local.lambda_code_named_arch == var.architecture

  # The gated repositories as the function sees them (GATE_REPOSITORIES): the
  # globs of repositories.tf, comma-separated, the very set of the role's ECR
  # grants (iam.tf: one ARN per glob and region). `*` matches any characters,
  # `/` included; a glob without `*` is a name; "*" alone is every repository.
  # A repository name never holds a comma.
  gate_repositories = join(",", local.gated_repository_globs)

  # The contract with the code. No secret here: the webhook URL stays in SSM.
  function_environment = merge(
    {
      SNS_TOPIC_ARN         = aws_sns_topic.alerts.arn
      GATE_POLICY_PARAMETER = aws_ssm_parameter.gate_policy.name
      QUARANTINE_TAG_PREFIX = var.quarantine_tag_prefix
      DRY_RUN               = var.dry_run ? "true" : "false"
      RUST_LOG              = var.rust_log
      # The first 16 hex digits of the SHA-256 of the policy's JSON text as
      # stored (ssm.tf). A new policy changes it, so Lambda replaces the warm
      # execution environments, which read the policy at cold start; the
      # function compares it with the SHA-256 of the text it reads and alerts
      # when the policy was changed outside Terraform.
      GATE_POLICY_REVISION = substr(sha256(local.gate_policy_json), 0, 16)
      # The default scope of the sweep and of the report.
      GATE_REPOSITORIES = local.gate_repositories
    },
    var.slack_webhook_enabled ? { SLACK_WEBHOOK_PARAMETER = local.slack_webhook_parameter_name } : {},
    var.sweep_queue_enabled ? { SWEEP_QUEUE_URL = aws_sqs_queue.sweep[0].url } : {},
    local.exceptions_enabled ? { EXCEPTIONS_PARAMETER_PATH = var.exceptions_parameter_path } : {},
    local.member_environment,
  )
}

resource "aws_cloudwatch_log_group" "gate" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

resource "aws_lambda_function" "gate" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the SQS dead-letter queue through the on-failure destination of aws_lambda_function_event_invoke_config.gate, whose record also carries the error.
  #checkov:skip=CKV_AWS_117:The function calls only public AWS APIs and Slack; a VPC would add a NAT gateway and nothing to protect.
  #checkov:skip=CKV_AWS_272:The zip is built locally by cargo-lambda; code signing needs an AWS Signer profile that is outside this project.
  #checkov:skip=CKV_AWS_173:The environment holds names and ARNs only; the one secret (Slack webhook URL) stays in an SSM SecureString encrypted with the module's key.
  #checkov:skip=CKV_AWS_50:The code is not instrumented for X-Ray; decisions are in structured logs and EMF metrics. Set tracing_mode = "Active" to trace.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is a variable (default: none), since a reservation fails on accounts that cannot keep 100 unreserved executions.
  function_name = var.name
  description   = "Gates ECR images on their scan findings: quarantine tag, SNS and Slack alerts, EMF metrics"
  role          = aws_iam_role.gate.arn

  runtime       = "provided.al2023"
  architectures = [var.architecture]
  handler       = "bootstrap"

  filename          = local.lambda_from_s3 ? null : local.lambda_zip_path
  s3_bucket         = var.lambda_s3_bucket
  s3_key            = var.lambda_s3_key
  s3_object_version = var.lambda_s3_object_version
  source_code_hash  = local.lambda_from_s3 ? null : (fileexists(local.lambda_zip_path) ? filebase64sha256(local.lambda_zip_path) : null)

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions

  environment {
    variables = local.function_environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.gate.name
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.lambda_from_s3 ? true : fileexists(local.lambda_zip_path)
      error_message = "The function zip is missing. Download the release zip ecr-scan-gate-lambda-${var.architecture}.zip and set lambda_zip_path (or lambda_s3_bucket/lambda_s3_key), or build it with `make deploy` (scripts/deploy.sh)."
    }

    precondition {
      condition     = local.lambda_code_arch_agrees
      error_message = "The function code ${local.lambda_code_name} is the release zip for ${coalesce(local.lambda_code_named_arch, "?")}, but architecture is ${var.architecture}: use ecr-scan-gate-lambda-${var.architecture}.zip, or set architecture = \"${coalesce(local.lambda_code_named_arch, "?")}\"."
    }
  }

  depends_on = [
    aws_iam_role_policy.gate,
    aws_cloudwatch_log_group.gate,
  ]
}

# Asynchronous invocations (EventBridge invokes the function asynchronously):
# bounded retries, then the dead-letter queue.
resource "aws_lambda_function_event_invoke_config" "gate" {
  function_name                = aws_lambda_function.gate.function_name
  maximum_retry_attempts       = var.async_maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}
