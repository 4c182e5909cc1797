"""Issue 22: the gate's own control plane as safe as the gate. What the plans of
infra/tests/security.tftest.hcl cannot show (which document each resource takes, every
role and queue of the modules at once, the rules shared with the Rust code), read from
the Terraform files themselves."""

import re

import pytest

from hcl_helpers import INFRA_DIR, MEMBER_DIR, REPO_ROOT, block, conditions_of, data_source, load_module, resource, statements_of

ACCOUNTS_RS = REPO_ROOT / "src" / "engine" / "accounts.rs"


_DOC = re.compile(r"data\.aws_iam_policy_document\.([A-Za-z0-9_]+)(?:\[[^\]]+\])?\.json")


def _document_of(module: dict, reference: str) -> dict:
    match = _DOC.search(reference)
    assert match, f"not an aws_iam_policy_document: {reference!r}"
    return data_source(module, "aws_iam_policy_document", match.group(1))


# --- 1. the policy parameter ---------------------------------------------------------


def test_policy_parameter_is_a_secure_string_under_the_gate_key(root):
    parameter = resource(root, "aws_ssm_parameter", "gate_policy")
    assert parameter["type"] == "SecureString"
    assert parameter["key_id"] == "${aws_kms_key.this.arn}"
    assert parameter["value"] == "${local.gate_policy_json}"
    assert parameter["name"] == "${local.gate_policy_parameter_name}"
    # The String parameter's justification is gone.
    assert "CKV2_AWS_34" not in (INFRA_DIR / "ssm.tf").read_text(encoding="utf-8")


def test_policy_revision_is_the_hash_of_the_stored_text(root):
    """The Rust side compares GATE_POLICY_REVISION with the SHA-256 of the text it reads:
    the expression must stay exactly this."""
    environment = root["locals"]["function_environment"]
    assert "GATE_POLICY_REVISION = substr(sha256(local.gate_policy_json), 0, 16)" in environment


def test_only_the_writers_may_encrypt_the_policy(root):
    statements = {s["sid"]: s for s in statements_of(data_source(root, "aws_iam_policy_document", "kms"))}
    deny = statements["DenyPolicyParameterWritesExceptWriters"]
    assert deny["effect"] == "Deny"
    assert set(deny["actions"]) == {"kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
    assert deny["principals"] == [{"type": "AWS", "identifiers": ["*"]}]
    conditions = {c["variable"]: c for c in conditions_of(deny)}
    assert conditions["kms:EncryptionContext:PARAMETER_ARN"]["values"] == ["${local.gate_policy_parameter_arn}"]
    assert conditions["aws:userid"] == {"test": "StringNotLike", "variable": "aws:userid", "values": ["${local.policy_writer_user_id}"]}
    assert conditions["aws:PrincipalArn"]["test"] == "ArnNotEquals"
    assert conditions["aws:PrincipalArn"]["values"] == "${local.policy_writer_arns_list}"
    # The encryption context names the parameter the gate reads: same name, SSM's ARN form.
    arn = root["locals"]["gate_policy_parameter_arn"]
    assert arn == '${"arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(local.gate_policy_parameter_name, "/")}"}' or (
        "parameter/${trimprefix(local.gate_policy_parameter_name" in arn
    )
    # Every session of the applying role (its unique id), whatever its path.
    assert ':assumed-role/' in root["locals"]["policy_writer_user_id"] and ':*' in root["locals"]["policy_writer_user_id"]


def test_the_key_cloudwatch_statement_is_this_account_only(root):
    statements = {s["sid"]: s for s in statements_of(data_source(root, "aws_iam_policy_document", "kms"))}
    assert statements["AllowCloudWatchAlarms"]["condition"] == [
        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["${local.account_id}"]}
    ]


# --- 2. the event bus ----------------------------------------------------------------


def test_the_default_bus_policy_is_never_replaced(root):
    """The gate owns the policy of its own bus only: no resource policy or permission on the
    default bus (or any bus the module does not create)."""
    for name, policy in root["resource"].get("aws_cloudwatch_event_bus_policy", {}).items():
        assert policy["event_bus_name"].startswith("${aws_cloudwatch_event_bus."), (name, policy["event_bus_name"])
    assert "aws_cloudwatch_event_permission" not in root["resource"]
    for path in INFRA_DIR.glob("*.tf"):
        assert not re.search(r'event_bus_name\s*=\s*"default"', path.read_text(encoding="utf-8")), path.name


def test_hub_bus_admits_scan_events_only(root):
    statements = statements_of(data_source(root, "aws_iam_policy_document", "hub_bus"))
    assert {s["sid"] for s in statements} == {"AllowMemberAccountsPutScanEvents", "AllowOrganizationPutScanEvents"}
    for statement in statements:
        assert statement["actions"] == ["events:PutEvents"]
        assert statement["resources"] == ["${local.hub_bus_arn}"]
        conditions = {c["variable"]: c for c in conditions_of(statement)}
        assert conditions["events:source"] == {
            "test": "ForAllValues:StringEquals",
            "variable": "events:source",
            "values": "${local.hub_bus_event_sources}",
        }
        assert conditions["events:detail-type"]["values"] == "${local.hub_bus_event_detail_types}"
    assert root["locals"]["hub_bus_event_sources"] == ["aws.ecr", "aws.inspector2"]
    # Every source the gate's rules match is admitted, nothing else.
    sources = {v for name in ("ecr_image_scan_pattern", "inspector2_scan_pattern", "inspector2_finding_pattern") for v in root["locals"][name]["source"]}
    assert sources == set(root["locals"]["hub_bus_event_sources"])
    detail_types = {v for name in ("ecr_image_scan_pattern", "inspector2_scan_pattern", "inspector2_finding_pattern") for v in root["locals"][name]["detail-type"]}
    assert detail_types == set(root["locals"]["hub_bus_event_detail_types"])


def test_rules_on_the_hub_bus_are_covered_by_key_and_dead_letter_queue(root):
    """A rule on the hub bus has the ARN rule/<bus>/<rule>: the key's EventBridge statement
    (ArnLike rule/<name>-*) covers it because the bus is named <name>-...; the dead-letter
    queue admits those rules too."""
    assert root["locals"]["hub_bus_name"] == "${var.name}-hub"
    assert root["locals"]["event_rule_arn_pattern"].endswith(":rule/${var.name}-*")
    dlq = {s.get("sid"): s for s in statements_of(data_source(root, "aws_iam_policy_document", "dlq"))}
    values = dlq["AllowEventBridgeDeadLetters"]["condition"][0]["values"]
    assert "aws_cloudwatch_event_rule.gate" in values and "aws_cloudwatch_event_rule.forwarded" in values
    target = resource(root, "aws_cloudwatch_event_target", "forwarded")
    assert block(target, "dead_letter_config")["arn"] == "${aws_sqs_queue.dlq.arn}"


def test_member_forwards_to_the_hub_bus_with_a_dead_letter_queue(member):
    target = resource(member, "aws_cloudwatch_event_target", "forward")
    assert target["arn"] == "${var.hub_event_bus_arn}"
    assert block(target, "dead_letter_config")["arn"] == "${aws_sqs_queue.forward_dlq.arn}"
    alarm = resource(member, "aws_cloudwatch_metric_alarm", "forward_dlq")
    assert alarm["dimensions"] == {"QueueName": "${aws_sqs_queue.forward_dlq.name}"}
    assert alarm["metric_name"] == "ApproximateNumberOfMessagesVisible" and alarm["threshold"] == 1
    conditions = [v["condition"] for v in member["variable"]["hub_event_bus_arn"]["validation"]]
    assert any("event-bus/default" in c for c in conditions), "the member must refuse the hub's default bus"


# --- 3. roles ---------------------------------------------------------------------------


def test_every_hub_role_takes_path_and_boundary(root):
    roles = root["resource"]["aws_iam_role"]
    assert set(roles) == {"gate", "scheduler", "ecs_hook", "chatbot"}, "a new role must take role_path and the boundary too"
    for name, role in roles.items():
        assert role.get("path") == "${var.role_path}", name
        assert role.get("permissions_boundary") == "${var.permissions_boundary_arn}", name
    assert root["variable"]["role_path"]["default"] == "/"
    assert root["variable"]["permissions_boundary_arn"]["default"] is None


def test_every_member_role_takes_a_boundary(member):
    roles = member["resource"]["aws_iam_role"]
    assert set(roles) == {"member", "forwarder"}
    for name, role in roles.items():
        assert role.get("permissions_boundary") == "${var.permissions_boundary_arn}", name
    assert roles["forwarder"]["path"] == "${var.role_path}"
    # The gate's role: name and path from role_name, as MEMBER_ROLE_NAME names it.
    assert roles["member"]["name"] == "${local.role_base_name}"
    assert roles["member"]["path"] == "${local.role_name_path}"


def _service_trusts(module: dict) -> dict[str, list[dict]]:
    trusts = {}
    for name, document in module["data"].get("aws_iam_policy_document", {}).items():
        for statement in statements_of(document):
            if "sts:AssumeRole" in statement.get("actions", []) and any(p["type"] == "Service" for p in statement.get("principals", [])):
                trusts[name] = conditions_of(statement)
    return trusts


def test_service_trusts_name_their_source(root, member):
    """Every service the module lets assume a role does so on behalf of this account
    (aws:SourceAccount); the scheduler and the forwarder also for their own schedules and
    rules only (aws:SourceArn)."""
    trusts = {**_service_trusts(root), **{f"member.{k}": v for k, v in _service_trusts(member).items()}}
    assert set(trusts) >= {"gate_assume", "scheduler_assume", "ecs_hook_assume", "chatbot_assume", "member.forwarder_assume"}
    for name, conditions in trusts.items():
        keys = {c["variable"] for c in conditions}
        assert "aws:SourceAccount" in keys, f"{name}: no aws:SourceAccount"
    scheduler = {c["variable"]: c for c in trusts["scheduler_assume"]}
    assert scheduler["aws:SourceArn"]["values"] == ["${local.schedule_group_arn}"]
    assert root["locals"]["schedule_group_arn"].endswith(":schedule-group/${local.schedule_group_name}")
    assert resource(root, "aws_scheduler_schedule", "gate")["group_name"] == "${aws_scheduler_schedule_group.gate[0].name}"
    forwarder = {c["variable"]: c for c in trusts["member.forwarder_assume"]}
    assert forwarder["aws:SourceArn"]["values"] == "${local.forward_rule_arns}"


# The Rust rule the Terraform rules mirror: characters of a role name (and of each path
# segment) and of an external id, from src/engine/accounts.rs.
def _rust_allowed_bytes(pattern: str) -> set[str]:
    source = ACCOUNTS_RS.read_text(encoding="utf-8")
    match = re.search(pattern, source, re.S)
    assert match, f"{pattern!r} not found in {ACCOUNTS_RS}"
    return set(match.group(1))


def _terraform_char_class(condition: str, anchor: str) -> set[str]:
    """The punctuation of the first `[A-Za-z0-9...]` class after `anchor` in a condition."""
    match = re.search(re.escape(anchor) + r".*?\[A-Za-z0-9([^\]]*)\]", condition)
    assert match, f"no character class after {anchor!r} in {condition!r}"
    return set(match.group(1).replace("\\\\", ""))


def test_role_name_rule_mirrors_the_code(root, member):
    rust = _rust_allowed_bytes(r'fn validate_role_name.*?b"([^"]+)"\.contains')
    for module, variable in ((root, "member_role_name"), (member, "role_name")):
        condition = module["variable"][variable]["validation"][0]["condition"]
        assert _terraform_char_class(condition, "regex(") == rust, (variable, condition)
        regex = re.search(r'regex\("(.+?)", var\.', condition).group(1).replace("\\\\", "\\")
        for name, accepted in [
            ("ecr-scan-gate-member", True),
            ("security/ecr-scan-gate-member", True),
            ("team/sub/gate_member+x=y,z.w@v", True),
            ("/security/gate", False),
            ("security/", False),
            ("security//gate", False),
            ("a" * 64, True),
            ("a" * 65, False),
            ("has space", False),
        ]:
            assert bool(re.fullmatch(regex, name)) is accepted, (variable, name)


def test_external_id_rule_mirrors_the_code(root, member):
    rust = _rust_allowed_bytes(r'\(2\.\.=1224\)\.contains\(&id\.len\(\)\).*?b"([^"]+)"\.contains')
    assert "_" in rust
    for module, variable in ((root, "member_role_external_id"), (member, "external_id")):
        condition = module["variable"][variable]["validation"][0]["condition"]
        assert _terraform_char_class(condition, "regex(") == rust, (variable, condition)
        assert "length(var." in condition and ">= 2" in condition and "<= 1224" in condition


# --- 4. transport -----------------------------------------------------------------------------


def _denies_insecure_transport(document: dict) -> bool:
    return any(
        s.get("effect") == "Deny"
        and s.get("principals") == [{"type": "*", "identifiers": ["*"]}]
        and {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]} in s.get("condition", [])
        for s in statements_of(document)
    )


@pytest.mark.parametrize("directory", [INFRA_DIR, MEMBER_DIR], ids=["hub", "member"])
def test_every_queue_and_topic_refuses_insecure_transport(directory):
    module = load_module(directory)
    queues = set(module["resource"].get("aws_sqs_queue", {}))
    covered = set()
    for name, policy in module["resource"].get("aws_sqs_queue_policy", {}).items():
        queue = re.search(r"aws_sqs_queue\.([A-Za-z0-9_]+)", policy["queue_url"]).group(1)
        assert _denies_insecure_transport(_document_of(module, policy["policy"])), name
        covered.add(queue)
    assert queues and covered == queues, f"queues without a TLS-only policy: {sorted(queues - covered)}"
    for name, policy in module["resource"].get("aws_sns_topic_policy", {}).items():
        assert _denies_insecure_transport(_document_of(module, policy["policy"])), name
    if directory == INFRA_DIR:
        assert "alerts" in module["resource"]["aws_sns_topic_policy"]


# --- 5. Chatbot ---------------------------------------------------------------------------------


def test_chatbot_least_privilege(root):
    text = (INFRA_DIR / "chatbot.tf").read_text(encoding="utf-8")
    assert "iam::aws:policy/" not in text, "no AWS managed policy for the Chatbot channel"
    attachment = resource(root, "aws_iam_role_policy_attachment", "chatbot")
    assert attachment["policy_arn"] == "${aws_iam_policy.chatbot_read_only[0].arn}"
    policy = resource(root, "aws_iam_policy", "chatbot_read_only")
    document = _document_of(root, policy["policy"])
    for statement in statements_of(document):
        assert statement.get("effect", "Allow") == "Allow"
        for action in statement["actions"]:
            assert re.match(r"^(cloudwatch|logs):(Describe|Get|List|Filter)", action), action
        if statement["resources"] == ["*"]:
            # Only where CloudWatch has no resource-level permission (metric data).
            assert set(statement["actions"]) <= {
                "cloudwatch:GetMetricData",
                "cloudwatch:GetMetricStatistics",
                "cloudwatch:GetMetricWidgetImage",
                "cloudwatch:ListMetrics",
            }, statement["actions"]
        elif any(a.startswith("logs:") for a in statement["actions"]):
            assert statement["resources"] == ["${local.log_group_arn}", "${local.log_group_arn}:*"]
    configuration = resource(root, "aws_chatbot_slack_channel_configuration", "alerts")
    assert configuration["user_authorization_required"] == "${var.chatbot_slack.user_authorization_required}"
    assert "user_authorization_required = optional(bool, true)" in root["variable"]["chatbot_slack"]["type"] or (
        "optional(bool, true)" in str(root["variable"]["chatbot_slack"]["type"])
    )


def test_chatbot_purpose_is_said(root):
    description = root["variable"]["chatbot_slack"]["description"]
    assert "does\nNOT show the gate's own alerts" in description or "NOT show the gate's own alerts" in description.replace("\n", " ")
    assert "slack_webhook_enabled" in description
    readme = (INFRA_DIR / "README.md").read_text(encoding="utf-8")
    assert "Chatbot does not show the gate's own" in readme.replace("\n", " ")
    assert "user_authorization_required" in readme and "<name>-chatbot-read-only" in readme


# --- 6. smaller -------------------------------------------------------------------------------------


def test_smaller_defaults(root):
    assert root["variable"]["sweep_max_receive_count"]["default"] == 5
    conditions = [v["condition"] for v in root["variable"]["reserved_concurrent_executions"]["validation"]]
    assert any("var.reserved_concurrent_executions >= var.sweep_max_concurrency" in c for c in conditions)
    assert "default" in root["variable"]["gate_regions"] and root["variable"]["gate_regions"]["default"] is None


def test_versions_comment_matches_the_provider_floor(root):
    text = (INFRA_DIR / "versions.tf").read_text(encoding="utf-8")
    assert ">= 5.100, < 7.0" in text
    assert "data.aws_region.current.region`, `aws_ssm_parameter.value_wo`" not in text
    # 5.100 (the mirror's provider) has no `region` on aws_region: `.name` stays.
    for path in list(INFRA_DIR.glob("*.tf")) + list(MEMBER_DIR.glob("*.tf")):
        assert "data.aws_region.current.region" not in path.read_text(encoding="utf-8"), path
