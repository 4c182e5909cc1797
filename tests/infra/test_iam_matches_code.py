"""The function role grants exactly the ECR, SNS and SSM operations the Rust
code calls (src/aws/ecr.rs, sns.rs, ssm.rs), so the two cannot drift apart."""

import textwrap

import pytest

from hcl_helpers import (
    RUST_AWS_DIR,
    code_actions,
    compared_actions,
    extract_operations,
    function_role_statements,
    granted_actions,
    load_module,
    snake_to_pascal,
)

# The contract between the code and the infrastructure (issue 5).
CONTRACT_ACTIONS = {
    "ecr:DescribeImageScanFindings",
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:BatchDeleteImage",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "sns:Publish",
    "ssm:GetParameter",
}


@pytest.fixture(scope="module")
def module():
    return load_module()


@pytest.mark.parametrize(
    ("snake", "pascal"),
    [
        ("describe_image_scan_findings", "DescribeImageScanFindings"),
        ("batch_get_image", "BatchGetImage"),
        ("put_image", "PutImage"),
        ("get_parameter", "GetParameter"),
        ("publish", "Publish"),
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
    assert extract_operations("fn nothing() {}") == set()


def test_function_role_grants_the_contract_actions(module):
    assert compared_actions(granted_actions(module)) == CONTRACT_ACTIONS


def test_function_role_has_no_wildcard_on_compared_services(module):
    for statement in function_role_statements(module):
        for action in statement.get("actions", []):
            assert "*" not in action or action.split(":", 1)[0] not in ("ecr", "sns", "ssm"), action


def test_function_role_ecr_actions_only_on_gated_repositories(module):
    for statement in function_role_statements(module):
        if any(a.startswith("ecr:") for a in statement.get("actions", [])):
            assert statement["resources"] == "${values(local.gated_repository_arns)}", (
                f"ECR statement {statement.get('sid')} must be scoped to the gated repositories"
            )


def test_iam_matches_code():
    """Fails (never skips) while src/aws/ does not exist or yields no operation."""
    module = load_module()
    assert RUST_AWS_DIR.is_dir(), f"{RUST_AWS_DIR} does not exist: cannot compare IAM with the code"
    called = code_actions()
    assert called, f"no AWS operation found in {RUST_AWS_DIR}/{{ecr,sns,ssm}}.rs"
    granted = compared_actions(granted_actions(module))
    missing = sorted(called - granted)
    extra = sorted(granted - called)
    assert not missing and not extra, (
        f"IAM and code drifted apart. Called by the code but not granted (add to infra/iam.tf): {missing}. "
        f"Granted but not called by the code (remove from infra/iam.tf): {extra}."
    )
