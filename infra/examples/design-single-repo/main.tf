# The design's setup: one repository, demo-api, MUTABLE,
# scan on push, AES256, untagged images expire after 7 days, tagged
# Name/Environment=poc; plus the gate that acts on its scan results.

module "ecr_scan_gate" {
  source = "../.."

  repository_names = ["demo-api"]
  environment      = "poc"

  enable_tagged_image_count_rule = var.enable_tagged_image_count_rule
  ecs_execution_role_arns        = var.ecs_execution_role_arns

  alert_email_addresses = var.alert_email_addresses
  slack_webhook_enabled = var.slack_webhook_enabled
  slack_webhook_url     = var.slack_webhook_url

  lambda_zip_path = var.lambda_zip_path
}
