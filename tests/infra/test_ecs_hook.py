"""The ECS deployment lifecycle hook's role (infra/ecs_hook.tf) and its example
(infra/examples/ecs-lifecycle-hook/): ECS, and only ECS of this account, may assume the
role; the role may invoke this function and nothing else; all of it exists only with
ecs_hook_enabled. infra/tests/*.tftest.hcl check the same on the plan; here the wiring that a
plan with mocked documents cannot show (which document each role and policy takes)."""

import pytest

from hcl_helpers import INFRA_DIR, data_source, load_module, resource, role_attachments, role_policies

EXAMPLE_DIR = INFRA_DIR / "examples" / "ecs-lifecycle-hook"
ENABLED = "${var.ecs_hook_enabled ? 1 : 0}"


@pytest.fixture(scope="module")
def module():
    return load_module()


def test_everything_of_the_hook_follows_ecs_hook_enabled(module):
    assert module["variable"]["ecs_hook_enabled"]["default"] is True
    assert resource(module, "aws_iam_role", "ecs_hook")["count"] == ENABLED
    assert resource(module, "aws_iam_role_policy", "ecs_hook")["count"] == ENABLED
    assert data_source(module, "aws_iam_policy_document", "ecs_hook_assume")["count"] == ENABLED
    assert data_source(module, "aws_iam_policy_document", "ecs_hook")["count"] == ENABLED
    assert module["output"]["ecs_hook_role_arn"]["value"] == "${var.ecs_hook_enabled ? aws_iam_role.ecs_hook[0].arn : null}"


def test_only_ecs_of_this_account_may_assume_the_role(module):
    role = resource(module, "aws_iam_role", "ecs_hook")
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.ecs_hook_assume[0].json}"
    statements = data_source(module, "aws_iam_policy_document", "ecs_hook_assume")["statement"]
    assert len(statements) == 1 and "dynamic" not in data_source(module, "aws_iam_policy_document", "ecs_hook_assume")
    trust = statements[0]
    assert trust["effect"] == "Allow"
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["ecs.amazonaws.com"]}]
    assert trust["condition"] == [
        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["${local.account_id}"]}
    ]


def test_the_role_may_only_invoke_this_function(module):
    policies = role_policies(module, "ecs_hook")
    assert [name for name, _ in policies] == ["ecs_hook"], f"inline policies on the hook role: {policies}"
    assert resource(module, "aws_iam_role_policy", "ecs_hook")["policy"] == "${data.aws_iam_policy_document.ecs_hook[0].json}"
    (_, statements), = policies
    assert len(statements) == 1, statements
    statement = statements[0]
    assert statement["effect"] == "Allow"
    assert statement["actions"] == ["lambda:InvokeFunction"]
    # The unqualified ARN of this module's function: no `*`, no qualifier.
    assert statement["resources"] == ["${aws_lambda_function.gate.arn}"]
    assert not {"not_actions", "not_resources", "principals", "not_principals"} & set(statement)
    # Nothing else reaches the role: no managed policy, no inline_policy block.
    assert role_attachments(module, "ecs_hook") == []
    role = resource(module, "aws_iam_role", "ecs_hook")
    assert "managed_policy_arns" not in role and "inline_policy" not in role


def test_the_unqualified_arn_is_enough(module):
    """The grant names the unqualified function ARN, which covers an invocation of the
    function itself ($LATEST). It would not cover a published version or an alias: the module
    publishes none. If it ever does, the hook's grant (and hookTargetArn) must follow."""
    function = resource(module, "aws_lambda_function", "gate")
    assert function.get("publish") in (None, False)
    assert "aws_lambda_alias" not in module["resource"]


def test_the_hook_is_named_in_the_docs(module):
    readme = (INFRA_DIR / "README.md").read_text(encoding="utf-8")
    for fragment in ("ecs_hook_enabled", "ecs_hook_role_arn", "ecs:DescribeServiceRevisions", "ecr:UpdateImageStorageClass", "examples/ecs-lifecycle-hook"):
        assert fragment in readme, f"infra/README.md does not mention {fragment}"


# --- the example -------------------------------------------------------------------


def test_example_files():
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (EXAMPLE_DIR / name).is_file(), name


def test_example_wires_the_function_and_the_hook_role():
    example = load_module(EXAMPLE_DIR)
    call = example["module"]["ecr_scan_gate"]
    assert call["source"] == "../.."
    assert call["ecs_hook_enabled"] is True
    configuration = example["locals"]["deployment_configuration"]
    assert configuration["strategy"] in ("BLUE_GREEN", "LINEAR", "CANARY")
    (hook,) = configuration["lifecycleHooks"]
    assert hook["hookTargetArn"] == "${module.ecr_scan_gate.function_arn}"
    assert hook["roleArn"] == "${module.ecr_scan_gate.ecs_hook_role_arn}"
    assert hook["lifecycleStages"] == "${var.lifecycle_stages}"
    assert example["variable"]["lifecycle_stages"]["default"] == ["PRE_SCALE_UP"]
    assert example["output"]["ecs_hook_role_arn"]["value"] == "${module.ecr_scan_gate.ecs_hook_role_arn}"
    assert example["output"]["deployment_configuration"]["value"] == "${jsonencode(local.deployment_configuration)}"


def test_example_readme_says_how_to_wire_a_service():
    readme = (EXAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for fragment in ("aws ecs update-service", "--deployment-configuration", "LifecycleHooks", "HookTargetArn",
                     "lifecycle_hook", "PRE_SCALE_UP", "6.4"):
        assert fragment in readme, f"the example's README does not mention {fragment}"
