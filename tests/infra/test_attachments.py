"""Issue 24, item 5: which policy is attached where. The plans of infra/tests mock every
aws_iam_policy_document to one text, so they cannot tell which document a role, queue,
topic, key or bus takes; infra/tests/attachments.tftest.hcl gives each document a text of
its own in a plan, and this file reads the wiring from the Terraform files themselves:

  - every attaching resource of the root module, modules/member, modules/team-exceptions
    and the examples takes the document (or policy) this file expects, and is attached to
    the resource it expects (an explicit map: swapping two references fails);
  - no policy document is left unattached, and none is used anywhere but by its attachment;
  - every rule that targets the function has its Lambda permission, and no other;
  - (the statements that matter, read through the attachment, are in
    test_attachment_statements.py;)
  - the organisation example follows its `name`: nothing in it, nor in the names and ARNs
    the hub and the member module build, is the literal default `ecr-scan-gate`."""

from __future__ import annotations

import re

import pytest

import hcl2

from hcl_helpers import (
    _OPTIONS,
    DOCUMENT_REF,
    EXAMPLE_DIRS,
    INFRA_DIR,
    MEMBER_DIR,
    MODULE_DIRS,
    ORGANIZATION_DIR,
    POLICY_ARGUMENTS,
    load_module,
    policy_attachments,
    reference,
    resource,
)

DEFAULT_NAME = "ecr-scan-gate"


def _doc(name: str) -> str:
    return f"data.aws_iam_policy_document.{name}"


# attaching resource -> (what it is attached to, where its policy comes from).
EXPECTED_ATTACHMENTS = {
    "root": {
        "aws_iam_role.gate": ("aws_iam_role.gate", _doc("gate_assume")),
        "aws_iam_role_policy.gate": ("aws_iam_role.gate", _doc("gate")),
        "aws_iam_role.scheduler": ("aws_iam_role.scheduler", _doc("scheduler_assume")),
        "aws_iam_role_policy.scheduler": ("aws_iam_role.scheduler", _doc("scheduler")),
        "aws_iam_role.ecs_hook": ("aws_iam_role.ecs_hook", _doc("ecs_hook_assume")),
        "aws_iam_role_policy.ecs_hook": ("aws_iam_role.ecs_hook", _doc("ecs_hook")),
        "aws_iam_role.chatbot": ("aws_iam_role.chatbot", _doc("chatbot_assume")),
        "aws_iam_policy.chatbot_read_only": ("aws_iam_policy.chatbot_read_only", _doc("chatbot")),
        "aws_iam_role_policy_attachment.chatbot": ("aws_iam_role.chatbot", "aws_iam_policy.chatbot_read_only"),
        "aws_sns_topic_policy.alerts": ("aws_sns_topic.alerts", _doc("alerts_topic")),
        "aws_sqs_queue_policy.dlq": ("aws_sqs_queue.dlq", _doc("dlq")),
        "aws_sqs_queue_policy.sweep": ("aws_sqs_queue.sweep", _doc('sweep_queues["sweep"]')),
        "aws_sqs_queue_policy.sweep_dlq": ("aws_sqs_queue.sweep_dlq", _doc('sweep_queues["sweep-dlq"]')),
        "aws_kms_key.this": ("aws_kms_key.this", _doc("kms")),
        "aws_cloudwatch_event_bus_policy.hub": ("aws_cloudwatch_event_bus.hub", _doc("hub_bus")),
        "aws_ecr_repository_policy.this": ("aws_ecr_repository.this", _doc("repository")),
        # A Lambda permission: the function, for the rules it iterates over.
        "aws_lambda_permission.events": ("aws_lambda_function.gate", "aws_cloudwatch_event_rule.gate"),
        "aws_lambda_permission.forwarded": ("aws_lambda_function.gate", "aws_cloudwatch_event_rule.forwarded"),
    },
    "member": {
        "aws_iam_role.member": ("aws_iam_role.member", _doc("member_assume")),
        "aws_iam_role_policy.member": ("aws_iam_role.member", _doc("member")),
        "aws_iam_role.forwarder": ("aws_iam_role.forwarder", _doc("forwarder_assume")),
        "aws_iam_role_policy.forwarder": ("aws_iam_role.forwarder", _doc("forwarder")),
        "aws_sqs_queue_policy.forward_dlq": ("aws_sqs_queue.forward_dlq", _doc("forward_dlq")),
    },
    "team-exceptions": {
        "aws_iam_policy.this": ("aws_iam_policy.this", "local.policy"),
        "aws_iam_role_policy_attachment.this": ("var.role_name", "aws_iam_policy.this"),
    },
}
# The examples attach nothing of their own: every policy is a module's.
EXPECTED_ATTACHMENTS.update({f"examples/{d.name}": {} for d in EXAMPLE_DIRS})



# --- 1. the wiring: every attachment, and no orphan ------------------------------------


@pytest.mark.parametrize("key", sorted(MODULE_DIRS))
def test_every_attachment_takes_the_expected_policy(modules, key):
    """An explicit map: a new attachment, a missing one, or two swapped references fail."""
    assert policy_attachments(modules[key]) == EXPECTED_ATTACHMENTS[key]


@pytest.mark.parametrize("key", sorted(MODULE_DIRS))
def test_no_policy_document_is_orphaned_or_used_elsewhere(modules, key):
    """Every aws_iam_policy_document of the module is attached by exactly one resource of
    EXPECTED_ATTACHMENTS, and is referenced nowhere else (a local, an output, another
    resource's argument): a document that is written but never attached, or attached through
    a detour that the map does not show, fails."""
    module = modules[key]
    declared = set(module["data"].get("aws_iam_policy_document", {}))
    attached: dict[str, list[str]] = {}
    for attachment, (_, source) in EXPECTED_ATTACHMENTS[key].items():
        match = DOCUMENT_REF.match(source)
        if match:
            attached.setdefault(match.group(1), []).append(attachment)
    orphans = declared - set(attached)
    assert not orphans, f"policy documents attached nowhere: {sorted(orphans)}"
    # sweep_queues is one document with a key per queue: one attachment per key.
    for name, by in attached.items():
        keys = [EXPECTED_ATTACHMENTS[key][a][1] for a in by]
        assert len(keys) == len(set(keys)), f"{name} attached twice: {by}"

    # Where the documents are referenced: exactly the policy arguments of the attachments.
    uses: dict[str, set[str]] = {}

    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for v in node:
                walk(v, where)
        elif isinstance(node, str):
            for m in DOCUMENT_REF.finditer(node):
                uses.setdefault(m.group(1), set()).add(where)

    for kind in ("resource", "data"):
        for type_name, by_name in module[kind].items():
            for name, body in by_name.items():
                walk(body, f"{'data.' if kind == 'data' else ''}{type_name}.{name}")
    walk(module["locals"], "local")
    walk(module["output"], "output")
    walk(module["module"], "module")
    expected_uses: dict[str, set[str]] = {}
    for attachment, (_, source) in EXPECTED_ATTACHMENTS[key].items():
        match = DOCUMENT_REF.match(source)
        if match:
            type_name = attachment.split(".", 1)[0]
            expected_uses.setdefault(match.group(1), set()).add(f"{attachment}.{POLICY_ARGUMENTS[type_name][0]}")
    assert uses == expected_uses


def test_the_chatbot_channel_and_guardrail_take_the_read_only_policy(root):
    """The managed policy of the chatbot document is the channel role's only policy and,
    unless replaced, the guardrail."""
    attachments = policy_attachments(root)
    assert attachments["aws_iam_role_policy_attachment.chatbot"] == ("aws_iam_role.chatbot", "aws_iam_policy.chatbot_read_only")
    channel = resource(root, "aws_chatbot_slack_channel_configuration", "alerts")
    assert reference(channel["iam_role_arn"]) == "aws_iam_role.chatbot"
    assert channel["guardrail_policy_arns"] == "${local.chatbot_guardrail_policy_arns}"
    guardrail = root["locals"]["chatbot_guardrail_policy_arns"]
    assert "var.chatbot_slack.guardrail_policy_arns" in guardrail
    assert re.findall(r"aws_iam_policy\.[a-z_]+", guardrail) == ["aws_iam_policy.chatbot_read_only"]
    assert [a for a, (t, _) in attachments.items() if t == "aws_iam_role.chatbot"] == [
        "aws_iam_role.chatbot",
        "aws_iam_role_policy_attachment.chatbot",
    ]


# --- 2. Lambda permissions ------------------------------------------------------------------------


def test_every_rule_that_targets_the_function_has_its_permission(root):
    """EventBridge may invoke the function for each rule whose target it is, on behalf of
    this account, and for nothing else."""
    permissions = {a: v for a, v in policy_attachments(root).items() if a.startswith("aws_lambda_permission.")}
    targets = {
        reference(t["for_each"])
        for t in root["resource"]["aws_cloudwatch_event_target"].values()
        if t["arn"] == "${aws_lambda_function.gate.arn}"
    }
    assert {rule for _, rule in permissions.values()} == targets
    for attachment in permissions:
        body = resource(root, "aws_lambda_permission", attachment.split(".", 1)[1])
        assert body["action"] == "lambda:InvokeFunction" and body["principal"] == "events.amazonaws.com", attachment
        assert body["source_arn"] == "${each.value.arn}" and body["source_account"] == "${local.account_id}", attachment
        assert body["function_name"] == "${aws_lambda_function.gate.function_name}", attachment
        assert "qualifier" not in body, attachment


# --- 3. the organisation example follows its name ---------------------------------------------------

# Arguments whose value is a resource's name, or a name that an ARN is built from.
_NAME_ARGUMENTS = ("name", "function_name", "alarm_name", "configuration_name", "dashboard_name", "name_prefix")


def _literal_default_name(node, where: str, found: list[str]):
    if isinstance(node, dict):
        for k, v in node.items():
            if k not in ("description", "error_message", "alarm_description"):
                _literal_default_name(v, f"{where}.{k}", found)
    elif isinstance(node, list):
        for v in node:
            _literal_default_name(v, where, found)
    elif isinstance(node, str) and DEFAULT_NAME in node:
        found.append(f"{where} = {node!r}")


@pytest.fixture(scope="module")
def organization():
    return load_module(ORGANIZATION_DIR)


def test_the_organization_example_passes_its_name_to_every_module(organization):
    calls = organization["module"]
    assert set(calls) == {"hub", "member_a", "member_b"}
    assert organization["variable"]["name"]["default"] == DEFAULT_NAME
    for name, call in calls.items():
        assert call.get("name") == "${var.name}", f"module.{name} must take var.name"
    # The member role follows the name too, and the members get it from the hub.
    assert calls["hub"]["member_role_name"] == "${var.name}-member"
    for name in ("member_a", "member_b"):
        call = calls[name]
        assert call["hub_role_arn"] == "${module.hub.function_role_arn}", name
        assert call["hub_event_bus_arn"] == "${module.hub.event_bus_arn}", name
        assert call["role_name"] == "${module.hub.member_role_name}", name
        assert call["external_id"] == "${var.member_role_external_id}" == calls["hub"]["member_role_external_id"], name
    # Each member's account is one the hub admits.
    providers = {p["alias"]: p for p in _providers(ORGANIZATION_DIR)}
    member_accounts = calls["hub"]["member_accounts"]
    for name in ("member_a", "member_b"):
        assert calls[name]["providers"] == {"aws": f"${{aws.{name}}}"}
        account = f"${{var.{name}_account_id}}"
        assert account in member_accounts
        assert f":iam::{account}:role/" in providers[name]["assume_role"][0]["role_arn"]


def _providers(directory) -> list[dict]:
    found = []
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle, serialization_options=_OPTIONS)
        for entry in parsed.get("provider", []):
            for _, body in entry.items():
                found.append(body)
    return found


def test_nothing_in_the_organization_example_is_the_default_name(organization):
    found: list[str] = []
    _literal_default_name(organization["module"], "module", found)
    _literal_default_name(organization["locals"], "local", found)
    _literal_default_name(organization["output"], "output", found)
    assert not found, found


@pytest.mark.parametrize("directory", [INFRA_DIR, MEMBER_DIR], ids=["hub", "member"])
def test_every_name_and_arn_the_modules_build_follows_var_name(directory):
    """No resource name, and no local an ARN or a name is built from, is the literal
    `ecr-scan-gate`: each comes from var.name (or another variable), so the organisation
    example with another name has other names and ARNs throughout. (Descriptions, the release
    zip's name and variable defaults may say ecr-scan-gate.)"""
    module = load_module(directory)
    found: list[str] = []
    for type_name, by_name in module["resource"].items():
        for name, body in by_name.items():
            for argument in _NAME_ARGUMENTS:
                if argument in body:
                    _literal_default_name(body[argument], f"{type_name}.{name}.{argument}", found)
    for local, value in module["locals"].items():
        if local.startswith("lambda_"):
            continue  # the release zip is named ecr-scan-gate-lambda-<arch>.zip
        _literal_default_name(value, f"local.{local}", found)
    for type_name, by_name in module["data"].items():
        for name, body in by_name.items():
            _literal_default_name(body, f"data.{type_name}.{name}", found)
    assert not found, found
    if directory == INFRA_DIR:
        function = resource(module, "aws_lambda_function", "gate")
        assert function["function_name"] == "${var.name}"
        assert resource(module, "aws_iam_role", "gate")["name"] == "${var.name}-function"
        assert module["locals"]["hub_bus_name"] == "${var.name}-hub"
        assert module["locals"]["log_group_name"] == "/aws/lambda/${var.name}"
        assert module["locals"]["event_rule_arn_pattern"].endswith(":rule/${var.name}-*")
        assert module["locals"]["gate_alarm_arn_pattern"].endswith(":alarm:${var.name}-*")
    else:
        assert resource(module, "aws_iam_role", "forwarder")["name"] == "${var.name}-forward-${local.region}"
        assert resource(module, "aws_sqs_queue", "forward_dlq")["name"] == "${var.name}-forward-dlq"
