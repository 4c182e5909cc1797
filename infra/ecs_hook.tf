# ECS deployment lifecycle hook (ecs_hook_enabled). Amazon ECS invokes the
# function at the lifecycle stages of a service deployment (blue/green, linear,
# canary) that the service's deployment configuration names, and rolls back
# when it answers FAILED. ECS invokes it with the role below, which a service
# names in its lifecycle hook (`roleArn`, output ecs_hook_role_arn). The
# function itself reads the service revision with ecs:DescribeServiceRevisions
# (iam.tf). See examples/ecs-lifecycle-hook/ for the wiring of a service.

# Only ECS, and only on behalf of this account.
data "aws_iam_policy_document" "ecs_hook_assume" {
  count = var.ecs_hook_enabled ? 1 : 0

  statement {
    sid     = "EcsAssumeRoleForLifecycleHooks"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "ecs_hook" {
  count = var.ecs_hook_enabled ? 1 : 0

  name                 = "${var.name}-ecs-hook"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "Assumed by Amazon ECS to invoke the ${var.name} function as a deployment lifecycle hook"
  assume_role_policy   = data.aws_iam_policy_document.ecs_hook_assume[0].json
  tags                 = var.tags
}

# Invoke this function and nothing else. The unqualified ARN: the module
# publishes no version and no alias, and a lifecycle hook names the function
# itself (hookTargetArn = function_arn), so `:*` (versions, aliases) would only
# widen the grant. Whoever points a hook at a published version or an alias of
# their own grants that qualifier themselves.
data "aws_iam_policy_document" "ecs_hook" {
  count = var.ecs_hook_enabled ? 1 : 0

  statement {
    sid       = "LambdaInvokeGateFunction"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.gate.arn]
  }
}

resource "aws_iam_role_policy" "ecs_hook" {
  count = var.ecs_hook_enabled ? 1 : 0

  name   = "${var.name}-invoke-function"
  role   = aws_iam_role.ecs_hook[0].id
  policy = data.aws_iam_policy_document.ecs_hook[0].json
}
