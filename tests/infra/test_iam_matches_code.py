"""The function role grants the ECR, SNS, SSM, SQS and Inspector operations the
Rust code calls (src/adapters/aws/ecr.rs, sns.rs, ssm.rs, sqs.rs, and inspector*.rs for
inspector2), and nothing of those services that neither the code nor Lambda itself
needs, so the two cannot drift apart.

Besides the code's calls:
- Lambda itself uses the role for the event-source mapping of the sweep queue
  and for the on-failure destination (LAMBDA_USES below);
- inspector2:ListFindings/ListCoverage come with ecr:DescribeImageScanFindings
  (ECR reads enhanced findings with the caller's permissions; ENHANCED_SCANNING_ACTIONS);
- sts:AssumeRole is made by aws-config's AssumeRoleProvider in member mode (no
  `client.assume_role()` in src/adapters/aws): granted only when member_accounts is set.
"""

import re
import textwrap

import pytest

from hcl_helpers import (
    ACTION_OF_OPERATION,
    COMPARED_SERVICES,
    INFRA_DIR,
    RUST_AWS_DIR,
    SERVICE_OF_STEM,
    code_actions,
    compared_actions,
    data_source,
    extract_operations,
    function_role_statements,
    granted_actions,
    load_module,
    snake_to_pascal,
)


# Granted for Lambda's own use of the role, not called by the code.
LAMBDA_USES = {
    "sqs:ReceiveMessage",  # event-source mapping of the sweep queue
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
    "sqs:SendMessage",  # on-failure destination (dead-letter queue)
}

# The contract between the code and the infrastructure.
CONTRACT_ACTIONS = {
    "ecr:DescribeImageScanFindings",
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:BatchDeleteImage",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:StartImageScan",
    "sns:Publish",
    "ssm:GetParameter",
    "sqs:SendMessage",
    "inspector2:ListFindingAggregations",  # the sweep's severity counts under enhanced scanning
}

# Granted for ecr:DescribeImageScanFindings, which reads enhanced findings with the
# caller's permissions; not called by the code.
ENHANCED_SCANNING_ACTIONS = {"inspector2:ListFindings", "inspector2:ListCoverage"}


@pytest.fixture(scope="module")
def module():
    return load_module()


def _statement(module, sid):
    matches = [s for s in function_role_statements(module) if s.get("sid") == sid]
    assert len(matches) == 1, f"statement {sid}: {len(matches)} found"
    return matches[0]


@pytest.mark.parametrize(
    ("snake", "pascal"),
    [
        ("describe_image_scan_findings", "DescribeImageScanFindings"),
        ("batch_get_image", "BatchGetImage"),
        ("put_image", "PutImage"),
        ("get_parameter", "GetParameter"),
        ("publish", "Publish"),
        ("send_message_batch", "SendMessageBatch"),
    ],
)
def test_snake_to_pascal(snake, pascal):
    assert snake_to_pascal(snake) == pascal


def test_extract_operations_on_fixture():
    fixture = textwrap.dedent(
        """
        //! Adapter over ECR. `client.not_a_call()` in a doc comment does not count.
        use aws_sdk_ecr::Client;

        pub struct Ecr { client: Client }

        impl Ecr {
            pub async fn findings(&self, repo: &str) -> Result<(), Error> {
                let out = self
                    .client
                    .describe_image_scan_findings()
                    .repository_name(repo)
                    .send()
                    .await?;
                let images = self.client.batch_get_image().repository_name(repo).send().await?;
                Ok(())
            }

            pub async fn tag(&self, client: &Client) {
                client.put_image().send().await;
                client
                    .batch_delete_image()
                    .send()
                    .await;
                let again = self.client.clone();
                let cfg = client.config();
                /* client.ignored_in_block_comment() */
            }
        }
        """
    )
    assert extract_operations(fixture) == {
        "DescribeImageScanFindings",
        "BatchGetImage",
        "PutImage",
        "BatchDeleteImage",
    }


def test_extract_operations_of_other_services():
    assert extract_operations("self.client.publish().topic_arn(arn).send().await") == {"Publish"}
    assert extract_operations("client\n    .get_parameter()\n    .with_decryption(true)") == {"GetParameter"}
    assert extract_operations("self.client.send_message_batch().queue_url(url)") == {"SendMessageBatch"}
    assert extract_operations("fn nothing() {}") == set()


def test_send_message_batch_is_authorised_by_send_message(tmp_path):
    (tmp_path / "sqs.rs").write_text("self.client.send_message_batch().send().await", encoding="utf-8")
    assert code_actions(tmp_path) == {"sqs:SendMessage"}
    assert ACTION_OF_OPERATION == {"sqs:SendMessageBatch": "sqs:SendMessage"}


def test_inspector_adapters_are_read_as_inspector2(tmp_path):
    (tmp_path / "inspector.rs").write_text(
        "let out = self\n    .client\n    .list_finding_aggregations()\n    .aggregation_type(AggregationType::AwsEcrContainer)\n    .send()\n    .await?;",
        encoding="utf-8",
    )
    (tmp_path / "inspector_coverage.rs").write_text("client.list_coverage().send().await", encoding="utf-8")
    (tmp_path / "member.rs").write_text("client.assume_role().send().await", encoding="utf-8")
    assert code_actions(tmp_path) == {"inspector2:ListFindingAggregations", "inspector2:ListCoverage"}
    assert SERVICE_OF_STEM["inspector"] == "inspector2" and "inspector2" in COMPARED_SERVICES


def test_function_role_grants_the_contract_actions(module):
    granted = compared_actions(granted_actions(module))
    assert granted - LAMBDA_USES - ENHANCED_SCANNING_ACTIONS == CONTRACT_ACTIONS - LAMBDA_USES
    assert CONTRACT_ACTIONS <= granted


def test_function_role_has_no_wildcard_on_compared_services(module):
    for statement in function_role_statements(module):
        for action in statement.get("actions", []):
            assert "*" not in action or action.split(":", 1)[0] not in COMPARED_SERVICES, action


def test_function_role_ecr_actions_only_on_gated_repositories(module):
    for statement in function_role_statements(module):
        if not any(a.startswith("ecr:") for a in statement.get("actions", [])):
            continue
        if statement.get("sid") == "EcrDescribeRepositories":
            # The sweep lists every repository of the account and region.
            assert statement["actions"] == ["ecr:DescribeRepositories"]
            assert "local.gated_repository_arns" in statement["resources"]
            assert '${local.repository_arn_prefix}*' in statement["resources"]
            continue
        assert statement["resources"] == "${local.gated_repository_arns}", (
            f"ECR statement {statement.get('sid')} must be scoped to the gated repositories"
        )


def test_inspector_permissions_come_with_describe_image_scan_findings(module):
    statement = _statement(module, "InspectorReadFindingsForEnhancedScanning")
    assert set(statement["actions"]) == ENHANCED_SCANNING_ACTIONS
    assert "ecr:DescribeImageScanFindings" in code_actions(), (
        "inspector2 permissions are granted for ecr:DescribeImageScanFindings, which the code no longer calls"
    )


def _dynamic_statement(module, sid):
    """(for_each, content) of the dynamic statement `sid` of the function's policy."""
    document = data_source(module, "aws_iam_policy_document", "gate")
    matches = [
        (d["statement"]["for_each"], content)
        for d in document.get("dynamic", [])
        if "statement" in d
        for content in d["statement"]["content"]
        if content.get("sid") == sid
    ]
    assert len(matches) == 1, f"dynamic statement {sid}: {len(matches)} found"
    return matches[0]


def test_list_finding_aggregations_whenever_the_sweep_can_run(module):
    """The sweep's ListFindingAggregations has the condition of the sweep's
    DescribeRepositories, and "*" (Inspector has no resource-level permission for it)."""
    for_each, statement = _dynamic_statement(module, "InspectorReadFindingAggregationsForSweep")
    assert statement["actions"] == ["inspector2:ListFindingAggregations"]
    assert statement["resources"] == ["*"]
    assert for_each == "${local.sweep_can_run ? [1] : []}"
    assert _statement(module, "EcrDescribeRepositories")["resources"].startswith("${local.sweep_can_run ?")
    can_run = module["locals"]["sweep_can_run"]
    assert "length(local.sweep_schedules) > 0" in can_run and "var.sweep_queue_enabled" in can_run


def test_assume_role_only_in_member_mode():
    """sts:AssumeRole is the one action not found as a call: aws-config's
    AssumeRoleProvider makes it, and only with MEMBER_ROLE_NAME."""
    text = (INFRA_DIR / "iam.tf").read_text(encoding="utf-8")
    block = text[text.index('sid       = "StsAssumeMemberRoles"') - 200 :]
    assert re.search(r"for_each\s*=\s*local\.member_mode \? \[1\] : \[\]", block[:200]), (
        "the sts:AssumeRole statement must exist only in member mode"
    )
    assert "local.member_role_arns" in block[:600]


def test_iam_matches_code():
    """Fails (never skips) while src/adapters/aws/ does not exist or yields no operation."""
    module = load_module()
    assert RUST_AWS_DIR.is_dir(), f"{RUST_AWS_DIR} does not exist: cannot compare IAM with the code"
    called = code_actions()
    assert called, f"no AWS operation found in {RUST_AWS_DIR}/{{{','.join(sorted(SERVICE_OF_STEM))}}}*.rs"
    granted = compared_actions(granted_actions(module))
    for_ecr = ENHANCED_SCANNING_ACTIONS if "ecr:DescribeImageScanFindings" in called else set()
    missing = sorted(called - granted)
    unjustified = sorted(granted - called - LAMBDA_USES - for_ecr)
    assert not missing and not unjustified, (
        f"IAM and code drifted apart. Called by the code but not granted (add to infra/iam.tf): {missing}. "
        f"Granted but neither called by the code (remove from infra/iam.tf): {unjustified}."
    )
