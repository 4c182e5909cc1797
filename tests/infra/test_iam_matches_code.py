"""The function role grants the ECR, SNS, SSM, SQS, Inspector and ECS operations the
Rust code calls (src/adapters/aws/ecr.rs, sns.rs, ssm.rs, sqs.rs, inspector*.rs for
inspector2, ecs*.rs for ecs), and nothing of those services that neither the code nor
Lambda itself needs, so the two cannot drift apart.

Some calls are made only with an option, and their grant follows that option
(CONDITIONAL_GRANTS): the grant is a dynamic statement of its own whose for_each is the
option. The comparison with the code takes every statement, conditional or not: the
code has each call whatever the options, the role has it when the option needs it.

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
    MEMBER_DIR,
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
    "ecr:UpdateImageStorageClass",  # archive / restore, when the policy's block.archive is not "off"
    "ecs:DescribeServiceRevisions",  # the ECS deployment lifecycle hook (ecs_hook_enabled)
    "ssm:GetParametersByPath",  # team exception documents (exceptions_parameter_path)
}

# Calls granted only with an option: action -> (sid of its own dynamic statement, for_each).
CONDITIONAL_GRANTS = {
    "inspector2:ListFindingAggregations": ("InspectorReadFindingAggregations", "${local.sweep_can_run || local.gate_archive_checks_use ? [1] : []}"),
    "ecr:UpdateImageStorageClass": ("EcrArchiveImages", "${local.gate_archive_enabled ? [1] : []}"),
    "ecs:DescribeServiceRevisions": ("EcsDescribeServiceRevisionsForHook", "${var.ecs_hook_enabled ? [1] : []}"),
    "ssm:GetParametersByPath": ("SsmReadTeamExceptions", "${local.exceptions_enabled ? [1] : []}"),
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


def test_calls_through_an_accessor_are_read():
    """`self.client()` (a client built on first use) is a client too."""
    assert extract_operations("self\n    .client()\n    .send_message_batch()\n    .send()") == {"SendMessageBatch"}
    assert extract_operations("let c = self.client().clone();") == set()


def test_inspector_call_in_an_ecr_adapter_is_inspector2(tmp_path):
    """ecr_archive.rs asks Inspector (its own aws_sdk_inspector2 client) whether an image is
    in use: that call is inspector2's, the file's other calls ECR's."""
    (tmp_path / "ecr_archive.rs").write_text(
        "use aws_sdk_inspector2::types::AggregationType;\n"
        "self.client.update_image_storage_class().send().await;\n"
        "let Some(client) = &self.inspector else { return };\n"
        "client\n    .list_finding_aggregations()\n    .send()\n    .await;\n",
        encoding="utf-8",
    )
    # Without the import the name stays the file's service (no guess).
    (tmp_path / "sns.rs").write_text("client.list_findings().send().await", encoding="utf-8")
    assert code_actions(tmp_path) == {
        "ecr:UpdateImageStorageClass",
        "inspector2:ListFindingAggregations",
        "sns:ListFindings",
    }


def test_ecs_adapters_are_read_as_ecs(tmp_path):
    (tmp_path / "ecs.rs").write_text(
        "let out = self\n    .client\n    .describe_service_revisions()\n    .service_revision_arns(arn)\n    .send()\n    .await?;",
        encoding="utf-8",
    )
    (tmp_path / "ecs_hook.rs").write_text("client.describe_services().send().await", encoding="utf-8")
    (tmp_path / "ecr.rs").write_text("self.client.update_image_storage_class().send().await", encoding="utf-8")
    assert code_actions(tmp_path) == {"ecs:DescribeServiceRevisions", "ecs:DescribeServices", "ecr:UpdateImageStorageClass"}
    assert SERVICE_OF_STEM["ecs"] == "ecs" and "ecs" in COMPARED_SERVICES


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
            # The sweep lists every repository of the account in the regions the gate serves.
            assert statement["actions"] == ["ecr:DescribeRepositories"]
            assert statement["resources"] == "${local.sweep_can_run ? local.all_repository_arns : local.gated_repository_arns}"
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


def test_list_finding_aggregations_whenever_the_sweep_can_run_or_archive_asks(module):
    """ListFindingAggregations has the condition of the sweep's DescribeRepositories, or
    block.archive = "unused" (which asks Inspector's inUseCount before archiving), and "*"
    (Inspector has no resource-level permission for it)."""
    for_each, statement = _dynamic_statement(module, "InspectorReadFindingAggregations")
    assert statement["actions"] == ["inspector2:ListFindingAggregations"]
    assert statement["resources"] == ["*"]
    assert for_each == "${local.sweep_can_run || local.gate_archive_checks_use ? [1] : []}"
    assert module["locals"]["gate_archive_checks_use"] == '${local.gate_archive == "unused"}'
    assert _statement(module, "EcrDescribeRepositories")["resources"].startswith("${local.sweep_can_run ?")
    can_run = module["locals"]["sweep_can_run"]
    assert "length(local.sweep_schedules) > 0" in can_run and "var.sweep_queue_enabled" in can_run


@pytest.mark.parametrize("action", sorted(CONDITIONAL_GRANTS))
def test_conditional_grants_follow_their_option(module, action):
    """A call made only with an option is granted in one dynamic statement of its own, whose
    for_each is that option, and in no other statement."""
    sid, option = CONDITIONAL_GRANTS[action]
    for_each, statement = _dynamic_statement(module, sid)
    assert for_each == option, f"{sid}: for_each {for_each!r}, expected {option!r}"
    assert statement["actions"] == [action], f"{sid} must grant {action} alone"
    holders = [s.get("sid") for s in function_role_statements(module) if action in s.get("actions", [])]
    assert holders == [sid], f"{action} is granted by {holders}, expected only by {sid}"


def test_archive_follows_the_policy_block(module):
    """ecr:UpdateImageStorageClass: with the policy's block.archive other than "off" (as stored:
    gate_policy_json or gate_policy), on the gated repositories like ecr:PutImage."""
    locals_ = module["locals"]
    assert locals_["gate_archive"] == '${try(coalesce(jsondecode(local.gate_policy_json).block.archive, "off"), "off")}'
    assert locals_["gate_archive_enabled"] == '${local.gate_archive != "off"}'
    assert "var.gate_policy_json" in locals_["gate_policy_json"] and "var.gate_policy" in locals_["gate_policy_json"]
    _, statement = _dynamic_statement(module, "EcrArchiveImages")
    assert statement["resources"] == _statement(module, "EcrQuarantineTagsAndScans")["resources"] == "${local.gated_repository_arns}"
    # The variable's description names the key that drives it.
    description = module["variable"]["gate_policy"]["description"]
    assert "block" in description and "ecr:UpdateImageStorageClass" in description and "ecs_hook" in description


def test_describe_service_revisions_on_this_account_only(module):
    _, statement = _dynamic_statement(module, "EcsDescribeServiceRevisionsForHook")
    assert statement["resources"] == ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:service-revision/*"]
    assert module["variable"]["ecs_hook_enabled"]["default"] is True
    assert module["variable"]["ecs_hook_enabled"]["type"] == "bool"


def test_member_role_archives_only_when_asked():
    """The member role mirrors the hub's ECR actions: UpdateImageStorageClass only with
    archive_enabled (off by default), on the same repositories as the rest."""
    member = load_module(MEMBER_DIR)
    actions = member["locals"]["gate_ecr_actions"]
    assert 'var.archive_enabled ? ["ecr:UpdateImageStorageClass"] : []' in actions
    assert actions.count("ecr:UpdateImageStorageClass") == 1
    assert member["variable"]["archive_enabled"]["default"] is False
    hub_ecr_on_repositories = {
        a
        for s in function_role_statements(load_module())
        if s.get("resources") == "${local.gated_repository_arns}"
        for a in s["actions"]
    }
    for action in hub_ecr_on_repositories:
        assert f'"{action}"' in actions, f"modules/member does not grant {action}, which the hub's role has"


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


def test_gated_repository_arns_cover_every_region_the_gate_serves(module):
    """Each ECR grant is a gated glob in a region of local.gate_regions (the function's own
    region and var.gate_regions), and GATE_REPOSITORIES is exactly those globs."""
    locals_ = module["locals"]
    arns = locals_["gated_repository_arns"]
    assert "for r in local.gate_regions" in arns and "for g in local.gated_repository_globs" in arns
    assert "ecr:${r}:${local.account_id}:repository/${g}" in arns
    assert "for r in local.gate_regions" in locals_["all_repository_arns"]
    assert locals_["gate_regions"] == "${distinct(concat([local.region], var.gate_regions == null ? [] : var.gate_regions))}"
    assert locals_["gate_repositories"] == '${join(",", local.gated_repository_globs)}'


def _member_actions(member: dict) -> set[str]:
    """Every action the member module's role may take: its documents' literal action lists,
    and the ECR actions of local.gate_ecr_actions (an expression)."""
    actions: set[str] = set(re.findall(r"ecr:[A-Za-z]+", member["locals"]["gate_ecr_actions"]))
    document = data_source(member, "aws_iam_policy_document", "member")
    statements = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        statements.extend(dynamic["statement"]["content"])
    for statement in statements:
        value = statement["actions"]
        if isinstance(value, list):
            actions.update(value)
        else:
            assert value == "${local.gate_ecr_actions}", value
    return actions


def test_member_role_actions_match_code():
    """The member role may do in a member account what the code does there, and nothing
    else: its ECR and Inspector actions are the code's ECR and Inspector calls (plus the
    enhanced-scanning reads that come with DescribeImageScanFindings). The hub-only calls
    (SNS, SSM, SQS, the ECS hook) are not the member's."""
    member = load_module(MEMBER_DIR)
    granted = compared_actions(_member_actions(member))
    member_services = ("ecr", "inspector2")
    called = {a for a in code_actions() if a.split(":", 1)[0] in member_services}
    assert {a.split(":", 1)[0] for a in granted} <= set(member_services), granted
    missing = sorted(called - granted)
    unjustified = sorted(granted - called - ENHANCED_SCANNING_ACTIONS)
    assert not missing and not unjustified, (
        f"modules/member and the code drifted apart. Called by the code but not granted to the member role: "
        f"{missing}. Granted to the member role but not called: {unjustified}."
    )


def test_member_role_actions_are_scoped_to_the_repository_patterns():
    """The member role's ECR statements are on the repositories of repository_patterns (in
    role_regions), the sweep's DescribeRepositories on the regions' repositories."""
    member = load_module(MEMBER_DIR)
    document = data_source(member, "aws_iam_policy_document", "member")
    ecr = {s["sid"]: s for s in document["statement"] if s["actions"] == "${local.gate_ecr_actions}" or any(a.startswith("ecr:") for a in s["actions"])}
    assert set(ecr) == {"EcrGateActions", "EcrDescribeRepositories"}, set(ecr)
    assert ecr["EcrGateActions"]["actions"] == "${local.gate_ecr_actions}"
    assert ecr["EcrGateActions"]["resources"] == "${local.repository_arns}"
    assert ecr["EcrDescribeRepositories"]["resources"] == "${local.all_repository_arns}"
    arns = member["locals"]["repository_arns"]
    assert "for r in local.role_regions" in arns and "for g in var.repository_patterns" in arns
    assert "ecr:${r}:${local.account_id}:repository/${g}" in arns
    assert "default" not in member["variable"]["repository_patterns"], "repository_patterns must have no default"
