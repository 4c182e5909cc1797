"""The ECR repository is the design's (docs/design.md: repository, lifecycle rules, repository
policy, outputs)."""

import pytest

from hcl_helpers import block, data_source, load_module, resolve, resource


@pytest.fixture(scope="module")
def module():
    return load_module()


def test_repository_name_is_demo_api(module):
    assert module["variable"]["repository_names"]["default"] == ["demo-api"]
    repo = resource(module, "aws_ecr_repository", "this")
    assert repo["for_each"] == "${toset(var.repository_names)}"
    assert repo["name"] == "${each.value}"


def test_repository_is_mutable(module):
    assert resource(module, "aws_ecr_repository", "this")["image_tag_mutability"] == "MUTABLE"


def test_repository_scans_on_push(module):
    repo = resource(module, "aws_ecr_repository", "this")
    assert block(repo, "image_scanning_configuration")["scan_on_push"] is True


def test_repository_encryption_is_aes256(module):
    repo = resource(module, "aws_ecr_repository", "this")
    assert block(repo, "encryption_configuration")["encryption_type"] == "AES256"


def test_repository_tags(module):
    tags = resource(module, "aws_ecr_repository", "this")["tags"]
    assert "Name = each.value" in tags
    assert "Environment = var.environment" in tags
    assert module["variable"]["environment"]["default"] == "poc"


def test_lifecycle_rule_1_expires_untagged_after_7_days(module):
    rule = module["locals"]["lifecycle_rule_untagged"]
    assert rule["rulePriority"] == 1
    assert rule["selection"]["tagStatus"] == "untagged"
    assert rule["selection"]["countType"] == "sinceImagePushed"
    assert rule["selection"]["countUnit"] == "days"
    assert resolve(rule["selection"]["countNumber"], module) == 7
    assert rule["action"] == {"type": "expire"}


def test_lifecycle_rule_2_keeps_30_v_images_behind_a_variable(module):
    rule = module["locals"]["lifecycle_rule_tagged"]
    assert rule["rulePriority"] == 2
    assert rule["selection"]["tagStatus"] == "tagged"
    assert resolve(rule["selection"]["tagPrefixList"], module) == ["v"]
    assert rule["selection"]["countType"] == "imageCountMoreThan"
    assert resolve(rule["selection"]["countNumber"], module) == 30
    assert rule["action"] == {"type": "expire"}
    # Optional, off by default as in the design; rule 1 always applies.
    assert module["variable"]["enable_tagged_image_count_rule"]["default"] is False
    rules = module["locals"]["lifecycle_rules"]
    assert "[local.lifecycle_rule_untagged]" in rules
    assert "var.enable_tagged_image_count_rule ? [local.lifecycle_rule_tagged] : []" in rules


def test_lifecycle_policy_on_every_repository(module):
    policy = resource(module, "aws_ecr_lifecycle_policy", "this")
    assert policy["for_each"] == "${aws_ecr_repository.this}"
    assert policy["policy"] == "${jsonencode({rules = local.lifecycle_rules})}"


def test_repository_policy_is_optional_pull_for_ecs_execution_role(module):
    assert module["variable"]["ecs_execution_role_arns"]["default"] == []
    doc = data_source(module, "aws_iam_policy_document", "repository")
    assert doc["count"] == "${length(var.ecs_execution_role_arns) > 0 ? 1 : 0}"
    statement = block(doc, "statement")
    assert statement["sid"] == "AllowPullFromECSExecutionRole"
    assert statement["effect"] == "Allow"
    assert sorted(statement["actions"]) == sorted(
        ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"]
    )
    principals = block(statement, "principals")
    assert principals["type"] == "AWS"
    assert principals["identifiers"] == "${var.ecs_execution_role_arns}"
    policy = resource(module, "aws_ecr_repository_policy", "this")
    assert "length(var.ecs_execution_role_arns) > 0" in policy["for_each"]


def test_outputs_of_the_design(module):
    outputs = module["output"]
    assert "aws_ecr_repository.this[var.repository_names[0]].repository_url" in outputs["ecr_repository_url"]["value"]
    assert "aws_ecr_repository.this[var.repository_names[0]].arn" in outputs["ecr_repository_arn"]["value"]
    assert outputs["ecr_repository_url"]["description"] == "ECR Repository URL (the first of repository_names; design: demo-api)"
