# An ECS service whose deployments the gate can stop. At PRE_SCALE_UP of each
# blue/green deployment (before any task of the new service revision starts)
# ECS invokes the gate function with the hook role; the function reads the
# revision's images (DescribeServiceRevisions) and answers FAILED for a
# quarantined, archived or failing image, and ECS rolls the deployment back.
#
# The hook itself lives in the service's deployment configuration. The AWS
# provider learnt it (aws_ecs_service `deployment_configuration`,
# `lifecycle_hook`) in 6.4; this project's checks run offline with 5.100,
# which has neither. So this example plans the gate, the hook role and the
# function's permission, and renders the service's deployment configuration
# for `aws ecs update-service` (output deployment_configuration). README.md
# shows the same hook with hashicorp/aws >= 6.4 and in CloudFormation.

module "ecr_scan_gate" {
  source = "../.."

  repository_names          = var.repository_names
  existing_repository_names = var.existing_repository_names

  # The default, spelled out: the role ECS assumes, DescribeServiceRevisions.
  ecs_hook_enabled = true

  lambda_zip_path = var.lambda_zip_path
}

locals {
  # The service's deployment configuration in the ECS API's shape, as
  # `aws ecs update-service --deployment-configuration` takes it.
  deployment_configuration = {
    strategy          = "BLUE_GREEN"
    bakeTimeInMinutes = var.bake_time_in_minutes
    lifecycleHooks = [
      {
        hookTargetArn   = module.ecr_scan_gate.function_arn
        roleArn         = module.ecr_scan_gate.ecs_hook_role_arn
        lifecycleStages = var.lifecycle_stages
      },
    ]
  }

  update_service_command = var.ecs_cluster_name == null || var.ecs_service_name == null ? null : join(" ", [
    "aws ecs update-service",
    "--region ${var.region}",
    "--cluster ${var.ecs_cluster_name}",
    "--service ${var.ecs_service_name}",
    "--deployment-configuration '${jsonencode(local.deployment_configuration)}'",
  ])
}
