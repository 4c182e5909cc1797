# The ECR repository of the design (sections 2-4), one per
# entry of var.repository_names (default: the design's single `demo-api`).

resource "aws_ecr_repository" "this" {
  #checkov:skip=CKV_AWS_51:Design section 2.1 chooses MUTABLE so that `latest` can be overwritten; the gate keys every decision by digest, not by tag.
  #checkov:skip=CKV_AWS_136:Design section 2.1 chooses AES-256 (the ECR default); a customer-managed KMS key is not part of the design.
  for_each = toset(var.repository_names)

  name                 = each.value
  image_tag_mutability = "MUTABLE"

  # Scan every image on push: the gate acts on the scan-complete event.
  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }

  tags = merge(var.tags, {
    Name        = each.value
    Environment = var.environment
  })
}

locals {
  # Rule 1 (design: "未タグイメージを7日後削除"): untagged images expire 7 days after push.
  # The gate never leaves a quarantined digest untagged: it adds its quarantine
  # tag before it removes any other tag.
  lifecycle_rule_untagged = {
    rulePriority = 1
    description  = "Expire untagged images ${var.untagged_image_expiry_days} days after push"
    selection = {
      tagStatus   = "untagged"
      countType   = "sinceImagePushed"
      countUnit   = "days"
      countNumber = var.untagged_image_expiry_days
    }
    action = {
      type = "expire"
    }
  }

  # Rule 2 (optional, design: "latest以外のイメージを30個まで保持"): keep the newest
  # 30 images tagged with a `v` prefix (release tags such as v1.0.0).
  lifecycle_rule_tagged = {
    rulePriority = 2
    description  = "Keep the newest ${var.tagged_image_count} images tagged ${join(", ", var.tagged_image_prefixes)}*"
    selection = {
      tagStatus     = "tagged"
      tagPrefixList = var.tagged_image_prefixes
      countType     = "imageCountMoreThan"
      countNumber   = var.tagged_image_count
    }
    action = {
      type = "expire"
    }
  }

  lifecycle_rules = concat(
    [local.lifecycle_rule_untagged],
    var.enable_tagged_image_count_rule ? [local.lifecycle_rule_tagged] : [],
  )
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy     = jsonencode({ rules = local.lifecycle_rules })
}

# Repository policy (design section 4, optional): pull only for the given ECS
# execution role(s).
data "aws_iam_policy_document" "repository" {
  count = length(var.ecs_execution_role_arns) > 0 ? 1 : 0

  statement {
    sid    = "AllowPullFromECSExecutionRole"
    effect = "Allow"

    principals {
      type        = "AWS"
      identifiers = var.ecs_execution_role_arns
    }

    actions = [
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage",
      "ecr:BatchCheckLayerAvailability",
    ]
  }
}

resource "aws_ecr_repository_policy" "this" {
  for_each = length(var.ecs_execution_role_arns) > 0 ? aws_ecr_repository.this : {}

  repository = each.value.name
  policy     = data.aws_iam_policy_document.repository[0].json
}
