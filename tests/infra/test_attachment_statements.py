"""Issue 24, item 5: the statements each attachment takes, read through the attachment
(role, topic, queue, key, bus, repository -> the document it takes -> its statements), so a
document wired to the wrong resource fails on its content too: who each role trusts, what each
identity policy grants on which resources, and what each resource policy admits. Which
document each attachment takes is test_attachments.py."""

from __future__ import annotations

import re

import pytest

from hcl_helpers import conditions_of, document_statements, policy_attachments, reference, resource
from test_attachments import _doc


def _statement_map(module: dict, attachment: str, expected: dict) -> dict[str, dict]:
    """The statements of the document `attachment` takes, by sid (every statement has one)."""
    _, source = policy_attachments(module)[attachment]
    statements = document_statements(module, source)
    by_sid = {}
    for statement in statements:
        assert statement.get("sid"), f"{attachment}: a statement without sid in {source}"
        assert statement["sid"] not in by_sid, f"{attachment}: sid {statement['sid']} twice in {source}"
        by_sid[statement["sid"]] = statement
    assert set(by_sid) == set(expected), f"{attachment} takes {source}, whose statements are {sorted(by_sid)}"
    return by_sid


def _conditions(statement: dict) -> dict[str, tuple[str, object]]:
    """variable -> (test, values) of a statement's conditions, dynamic ones included."""
    found = {}
    for condition in conditions_of(statement):
        assert condition["variable"] not in found, condition
        found[condition["variable"]] = (condition["test"], condition["values"])
    return found


def _principals(statement: dict) -> list[tuple[str, object]]:
    return [(p["type"], p["identifiers"]) for p in statement.get("principals", [])]


def _actions(statement: dict):
    actions = statement.get("actions")
    return sorted(actions) if isinstance(actions, list) else actions


# --- 1. trust policies ---------------------------------------------------------------------

# role -> (principal, {condition variable: (test, values)}) of its one AssumeRole statement.
EXPECTED_TRUSTS = {
    "root": {
        "aws_iam_role.gate": (
            ("Service", ["lambda.amazonaws.com"]),
            {"aws:SourceAccount": ("StringEquals", ["${local.account_id}"])},
        ),
        "aws_iam_role.scheduler": (
            ("Service", ["scheduler.amazonaws.com"]),
            {
                "aws:SourceAccount": ("StringEquals", ["${local.account_id}"]),
                "aws:SourceArn": ("ArnEquals", ["${local.schedule_group_arn}"]),
            },
        ),
        "aws_iam_role.ecs_hook": (
            ("Service", ["ecs.amazonaws.com"]),
            {"aws:SourceAccount": ("StringEquals", ["${local.account_id}"])},
        ),
        "aws_iam_role.chatbot": (
            ("Service", ["chatbot.amazonaws.com"]),
            {"aws:SourceAccount": ("StringEquals", ["${local.account_id}"])},
        ),
    },
    "member": {
        # The hub function's role only, with the external id when there is one.
        "aws_iam_role.member": (
            ("AWS", ["${var.hub_role_arn}"]),
            {"sts:ExternalId": ("StringEquals", ["${var.external_id}"])},
        ),
        "aws_iam_role.forwarder": (
            ("Service", ["events.amazonaws.com"]),
            {
                "aws:SourceAccount": ("StringEquals", ["${local.account_id}"]),
                "aws:SourceArn": ("ArnEquals", "${local.forward_rule_arns}"),
            },
        ),
    },
}


@pytest.mark.parametrize("key", sorted(EXPECTED_TRUSTS))
def test_each_role_trusts_its_own_principal_only(modules, key):
    module = modules[key]
    roles = {a for a in policy_attachments(module) if a.startswith("aws_iam_role.")}
    assert roles == set(EXPECTED_TRUSTS[key]), "a new role needs its expected trust here"
    for role, (principal, conditions) in EXPECTED_TRUSTS[key].items():
        _, source = policy_attachments(module)[role]
        statements = document_statements(module, source)
        assert len(statements) == 1, f"{role}: one trust statement, got {len(statements)}"
        statement = statements[0]
        assert statement.get("effect", "Allow") == "Allow" and statement["actions"] == ["sts:AssumeRole"], role
        assert _principals(statement) == [principal], role
        assert _conditions(statement) == conditions, role


def test_the_member_trust_condition_follows_the_external_id(member):
    """The ExternalId condition exists exactly when an external id is given."""
    _, source = policy_attachments(member)["aws_iam_role.member"]
    (statement,) = document_statements(member, source)
    (dynamic,) = [d for d in statement["dynamic"] if "condition" in d]
    assert dynamic["condition"]["for_each"] == "${var.external_id == null ? [] : [1]}"


def test_the_member_role_is_named_as_the_hub_assumes_it(root, member):
    """The hub assumes arn:<partition>:iam::<account>:role/<member_role_name>; the member
    creates role_base_name under role_name_path from the same role_name."""
    assert root["locals"]["member_role_arns"].count("role/${var.member_role_name}") == 2
    role = resource(member, "aws_iam_role", "member")
    assert role["name"] == "${local.role_base_name}" and role["path"] == "${local.role_name_path}"


# --- 2. identity policies -------------------------------------------------------------------

GATED = "${local.gated_repository_arns}"
KMS_ARN = ["${aws_kms_key.this.arn}"]

# attachment -> sid -> (actions, resources[, conditions]).
EXPECTED_IDENTITY_POLICIES = {
    "root": {
        "aws_iam_role_policy.gate": {
            "EcrReadScanResults": (["ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages"], GATED),
            "EcrQuarantineTagsAndScans": (["ecr:BatchDeleteImage", "ecr:PutImage", "ecr:StartImageScan"], GATED),
            "EcrArchiveImages": (["ecr:UpdateImageStorageClass"], GATED),
            "EcrDescribeRepositories": (
                ["ecr:DescribeRepositories"],
                "${local.sweep_can_run ? local.all_repository_arns : local.gated_repository_arns}",
            ),
            "SnsPublishAlerts": (["sns:Publish"], ["${aws_sns_topic.alerts.arn}"]),
            "SsmReadParameters": (
                ["ssm:GetParameter"],
                "${concat([aws_ssm_parameter.gate_policy.arn], var.slack_webhook_enabled ? [local.slack_webhook_parameter_arn] : [], local.gate_vex_parameter_arns)}",
            ),
            "SsmReadTeamExceptions": (["ssm:GetParametersByPath"], "${local.exceptions_parameter_path_arns}"),
            "KmsDecryptParameters": (
                ["kms:Decrypt"],
                KMS_ARN,
                {"kms:ViaService": ("StringEquals", ["ssm.${local.region}.amazonaws.com"])},
            ),
            "KmsUseModuleKey": (
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                KMS_ARN,
                {"kms:ViaService": ("StringEquals", ["sns.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com"])},
            ),
            "SqsSendToDeadLetterQueue": (["sqs:SendMessage"], ["${aws_sqs_queue.dlq.arn}"]),
            "SqsSendSweepMessages": (["sqs:SendMessage"], ["${aws_sqs_queue.sweep[0].arn}"]),
            "SqsConsumeSweepQueue": (
                ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                ["${aws_sqs_queue.sweep[0].arn}"],
            ),
            "LogsWriteFunctionLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], ["${aws_cloudwatch_log_group.gate.arn}:*"]),
            "InspectorReadFindingsForEnhancedScanning": (["inspector2:ListCoverage", "inspector2:ListFindings"], ["*"]),
            "InspectorReadFindingAggregations": (["inspector2:ListFindingAggregations"], ["*"]),
            "EcsDescribeServiceRevisionsForHook": (
                ["ecs:DescribeServiceRevisions"],
                ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:service-revision/*"],
            ),
            "StsAssumeMemberRoles": (
                ["sts:AssumeRole"],
                "${local.member_role_arns}",
                {"aws:ResourceOrgID": ("StringEquals", ["${condition.value}"])},
            ),
            "XRayWriteTraces": (["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"]),
        },
        "aws_iam_role_policy.scheduler": {
            "InvokeGateFunction": (["lambda:InvokeFunction"], ["${aws_lambda_function.gate.arn}"]),
            "SendToDeadLetterQueue": (["sqs:SendMessage"], ["${aws_sqs_queue.dlq.arn}"]),
            "UseModuleKeyForDeadLetterQueue": (
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                KMS_ARN,
                {"kms:ViaService": ("StringEquals", ["sqs.${local.region}.amazonaws.com"])},
            ),
        },
        "aws_iam_role_policy.ecs_hook": {
            "LambdaInvokeGateFunction": (["lambda:InvokeFunction"], ["${aws_lambda_function.gate.arn}"]),
        },
        "aws_iam_policy.chatbot_read_only": {
            "ReadGateAlarms": (["cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms"], ["${local.gate_alarm_arn_pattern}"]),
            "ReadMetricsForAlarmGraphs": (
                ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricWidgetImage", "cloudwatch:ListMetrics"],
                ["*"],
            ),
            "ReadGateLogs": (
                ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
                ["${local.log_group_arn}", "${local.log_group_arn}:*"],
            ),
        },
    },
    "member": {
        "aws_iam_role_policy.member": {
            "EcrGateActions": ("${local.gate_ecr_actions}", "${local.repository_arns}"),
            "EcrDescribeRepositories": (["ecr:DescribeRepositories"], "${local.all_repository_arns}"),
            "InspectorReadFindingAggregations": (["inspector2:ListFindingAggregations"], ["*"]),
            "InspectorReadFindingsForEnhancedScanning": (["inspector2:ListCoverage", "inspector2:ListFindings"], ["*"]),
        },
        "aws_iam_role_policy.forwarder": {
            "PutEventsOnHubBus": (["events:PutEvents"], ["${var.hub_event_bus_arn}"]),
        },
    },
}

# Actions that AWS authorises on "*" only (no resource-level permission): nothing else may
# be granted on "*".
NO_RESOURCE_LEVEL = {
    "inspector2:ListCoverage",
    "inspector2:ListFindings",
    "inspector2:ListFindingAggregations",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricWidgetImage",
    "cloudwatch:ListMetrics",
}


@pytest.mark.parametrize("key", sorted(EXPECTED_IDENTITY_POLICIES))
def test_each_identity_policy_grants_what_its_role_needs_on_its_resources(modules, key):
    module = modules[key]
    identity = {
        a for a in policy_attachments(module) if a.startswith(("aws_iam_role_policy.", "aws_iam_policy."))
    }
    assert identity == set(EXPECTED_IDENTITY_POLICIES[key]), "a new policy needs its expected statements here"
    for attachment, expected in EXPECTED_IDENTITY_POLICIES[key].items():
        by_sid = _statement_map(module, attachment, expected)
        for sid, want in expected.items():
            statement = by_sid[sid]
            actions, resources, conditions = (*want, {})[:3]
            got = (statement.get("effect", "Allow"), _actions(statement), statement.get("resources"), _conditions(statement))
            assert got == ("Allow", sorted(actions) if isinstance(actions, list) else actions, resources, conditions), f"{attachment} {sid}"
            assert "principals" not in statement, f"{attachment} {sid}: no principal in an identity policy"
            if resources == ["*"]:
                assert set(actions) <= NO_RESOURCE_LEVEL, f"{attachment} {sid}: {actions} on *"


def test_the_member_ecr_grants_are_the_gate_actions_on_its_repositories(member):
    """The member's ECR actions are the hub role's (UpdateImageStorageClass only when the
    hub archives), on repository_patterns in role_regions, never on every repository."""
    actions = member["locals"]["gate_ecr_actions"]
    for action in ("ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:PutImage", "ecr:StartImageScan"):
        assert f'"{action}"' in actions or action in actions
    assert 'var.archive_enabled ? ["ecr:UpdateImageStorageClass"] : []' in actions
    arns = member["locals"]["repository_arns"]
    assert "for g in var.repository_patterns" in arns and "for r in local.role_regions" in arns
    assert ":repository/${g}" in arns and ":${local.account_id}:" in arns


def test_the_gate_ecr_grants_are_the_gated_repositories(root):
    arns = root["locals"]["gated_repository_arns"]
    assert "for g in local.gated_repository_globs" in arns and ":repository/${g}" in arns
    assert ":${local.account_id}:" in arns, "this account's repositories only"
    # "*" (every repository) only when the operator gates every repository.
    assert root["locals"]["gated_repository_globs"].startswith("${local.gate_all_repositories ? [\"*\"] :")


# --- 3. resource policies: topic, queues, key, bus, repository ---------------------------------

_DENY_INSECURE = {"aws:SecureTransport": ("Bool", ["false"])}


def _own_arn(target: str) -> list[str]:
    """The ARN of the resource a policy is attached to, as the document names it."""
    counted = {"aws_sqs_queue.sweep", "aws_sqs_queue.sweep_dlq"}
    return [f"${{{target}{'[0]' if target in counted else ''}.arn}}"]


# attachment -> sid -> (effect, actions, principals, conditions). Resources: the attached
# resource's own ARN, always (checked below for every statement).
EXPECTED_RESOURCE_POLICIES = {
    "root": {
        "aws_sns_topic_policy.alerts": {
            # The account's principals (the function publishes with its role's sns:Publish)
            # and CloudWatch alarms of this account; nobody else.
            "AllowAccountPrincipals": (
                "Allow",
                ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:Publish", "sns:Subscribe"],
                [("AWS", ["arn:${local.partition}:iam::${local.account_id}:root"])],
                {},
            ),
            "AllowCloudWatchAlarms": (
                "Allow",
                ["sns:Publish"],
                [("Service", ["cloudwatch.amazonaws.com"])],
                {"aws:SourceAccount": ("StringEquals", ["${local.account_id}"])},
            ),
            "DenyInsecureTransport": ("Deny", ["sns:*"], [("*", ["*"])], _DENY_INSECURE),
        },
        "aws_sqs_queue_policy.dlq": {
            # EventBridge, for the gate's own rules only; Lambda's on-failure destination
            # and the schedules send with their roles.
            "AllowEventBridgeDeadLetters": (
                "Allow",
                ["sqs:SendMessage"],
                [("Service", ["events.amazonaws.com"])],
                {
                    "aws:SourceArn": (
                        "ArnEquals",
                        "${concat([for rule in aws_cloudwatch_event_rule.gate : rule.arn], [for rule in aws_cloudwatch_event_rule.forwarded : rule.arn])}",
                    )
                },
            ),
            "DenyInsecureTransport": ("Deny", ["sqs:*"], [("*", ["*"])], _DENY_INSECURE),
        },
        # The sweep queues admit nobody: the function and the mapping use their role.
        "aws_sqs_queue_policy.sweep": {
            "DenyInsecureTransport": ("Deny", ["sqs:*"], [("*", ["*"])], _DENY_INSECURE),
        },
        "aws_sqs_queue_policy.sweep_dlq": {
            "DenyInsecureTransport": ("Deny", ["sqs:*"], [("*", ["*"])], _DENY_INSECURE),
        },
    },
    "member": {
        "aws_sqs_queue_policy.forward_dlq": {
            "AllowForwardingRulesDeadLetters": (
                "Allow",
                ["sqs:SendMessage"],
                [("Service", ["events.amazonaws.com"])],
                {"aws:SourceArn": ("ArnEquals", "${local.forward_rule_arns}")},
            ),
            "DenyInsecureTransport": ("Deny", ["sqs:*"], [("*", ["*"])], _DENY_INSECURE),
        },
    },
}


@pytest.mark.parametrize("key", sorted(EXPECTED_RESOURCE_POLICIES))
def test_each_topic_and_queue_policy_admits_only_its_senders_on_itself(modules, key):
    """Every statement of a topic's or queue's policy is about that topic or queue (the SQS
    document on the topic, or the DLQ's on a sweep queue, fails), TLS only, and its Allow
    statements are exactly the expected senders."""
    module = modules[key]
    attached = {a for a in policy_attachments(module) if a.startswith(("aws_sns_topic_policy.", "aws_sqs_queue_policy."))}
    assert attached == set(EXPECTED_RESOURCE_POLICIES[key])
    for attachment, expected in EXPECTED_RESOURCE_POLICIES[key].items():
        target, _ = policy_attachments(module)[attachment]
        by_sid = _statement_map(module, attachment, expected)
        for sid, (effect, actions, principals, conditions) in expected.items():
            statement = by_sid[sid]
            assert statement["resources"] == _own_arn(target), f"{attachment} {sid}: {statement['resources']} is not {target}"
            got = (statement["effect"], _actions(statement), _principals(statement), _conditions(statement))
            assert got == (effect, sorted(actions), principals, conditions), f"{attachment} {sid}"
            if effect == "Allow":
                assert ("*", ["*"]) not in principals


def test_the_dead_letter_queues_admit_exactly_the_rules_that_send_to_them(root, member):
    """The rules named in a queue's aws:SourceArn are the rules whose targets dead-letter to
    that queue, and no other."""
    for module, queue_policy, queue in ((root, "aws_sqs_queue_policy.dlq", "aws_sqs_queue.dlq"), (member, "aws_sqs_queue_policy.forward_dlq", "aws_sqs_queue.forward_dlq")):
        senders = set()
        for name, target in module["resource"].get("aws_cloudwatch_event_target", {}).items():
            if target["dead_letter_config"][0]["arn"] == f"${{{queue}.arn}}":
                senders.add(reference(target["for_each"]))
        assert senders, queue
        _, source = policy_attachments(module)[queue_policy]
        (allow,) = [s for s in document_statements(module, source) if s["effect"] == "Allow"]
        values = _conditions(allow)["aws:SourceArn"][1]
        if module is root:
            assert set(re.findall(r"aws_cloudwatch_event_rule\.[a-z_]+", values)) == senders
        else:
            # local.forward_rule_arns: the ARNs of the forwarding rules, by their names.
            assert senders == {"aws_cloudwatch_event_rule.forward"}
            rule = resource(member, "aws_cloudwatch_event_rule", "forward")
            assert rule["for_each"] == "${local.forwarded_rules}" and rule["name"] == "${var.name}-forward-${each.key}"
            arns = member["locals"]["forward_rule_arns"]
            assert "for k in keys(local.forwarded_rules)" in arns and arns.endswith(":rule/${var.name}-forward-${k}\"]}")


def test_the_key_policy_is_the_key_of_every_encrypted_resource(root):
    """aws_kms_key.this takes the kms document, and it is the key of the topic, the queues
    and the log group whose services its statements admit."""
    assert policy_attachments(root)["aws_kms_key.this"] == ("aws_kms_key.this", _doc("kms"))
    for type_name, name, argument in (
        ("aws_sns_topic", "alerts", "kms_master_key_id"),
        ("aws_sqs_queue", "dlq", "kms_master_key_id"),
        ("aws_sqs_queue", "sweep", "kms_master_key_id"),
        ("aws_sqs_queue", "sweep_dlq", "kms_master_key_id"),
        ("aws_cloudwatch_log_group", "gate", "kms_key_id"),
        ("aws_ssm_parameter", "gate_policy", "key_id"),
    ):
        assert resource(root, type_name, name)[argument] == "${aws_kms_key.this.arn}", f"{type_name}.{name}"
    expected = {
        "EnableIamPolicies": ("Allow", [("AWS", ["arn:${local.partition}:iam::${local.account_id}:root"])], set()),
        "DenyPolicyParameterWritesExceptWriters": (
            "Deny",
            [("AWS", ["*"])],
            {"kms:EncryptionContext:PARAMETER_ARN", "aws:userid", "aws:PrincipalArn"},
        ),
        "AllowCloudWatchAlarms": ("Allow", [("Service", ["cloudwatch.amazonaws.com"])], {"aws:SourceAccount"}),
        "AllowEventBridgeRules": ("Allow", [("Service", ["events.amazonaws.com"])], {"aws:SourceArn"}),
        "AllowCloudWatchLogs": ("Allow", [("Service", ["logs.${local.region}.amazonaws.com"])], {"kms:EncryptionContext:aws:logs:arn"}),
    }
    by_sid = _statement_map(root, "aws_kms_key.this", expected)
    for sid, (effect, principals, conditions) in expected.items():
        statement = by_sid[sid]
        assert (statement["effect"], _principals(statement), set(_conditions(statement))) == (effect, principals, conditions), sid
        assert statement["resources"] == ["*"], f"{sid}: a key policy's resource is the key itself"
    # Each service only for this gate: the rules of <name>-*, the function's log group.
    assert _conditions(by_sid["AllowEventBridgeRules"])["aws:SourceArn"] == ("ArnLike", ["${local.event_rule_arn_pattern}"])
    assert _conditions(by_sid["AllowCloudWatchLogs"])["kms:EncryptionContext:aws:logs:arn"] == ("ArnEquals", ["${local.log_group_arn}"])
    assert root["locals"]["log_group_arn"].endswith(":log-group:${local.log_group_name}")
    assert resource(root, "aws_cloudwatch_log_group", "gate")["name"] == "${local.log_group_name}"


def test_the_bus_policy_is_about_the_bus_it_is_attached_to(root):
    target, source = policy_attachments(root)["aws_cloudwatch_event_bus_policy.hub"]
    assert target == "aws_cloudwatch_event_bus.hub"
    assert resource(root, "aws_cloudwatch_event_bus", "hub")["name"] == "${local.hub_bus_name}"
    assert root["locals"]["hub_bus_arn"].endswith(":event-bus/${local.hub_bus_name}")
    for statement in document_statements(root, source):
        assert statement["effect"] == "Allow" and statement["actions"] == ["events:PutEvents"], statement["sid"]
        assert statement["resources"] == ["${local.hub_bus_arn}"], statement["sid"]
        conditions = _conditions(statement)
        assert set(conditions) >= {"events:source", "events:detail-type"}, statement["sid"]
        # Anyone ("*") only within the organisation.
        if _principals(statement) == [("*", ["*"])]:
            assert conditions["aws:PrincipalOrgID"] == ("StringEquals", ["${var.organization_id}"])
        else:
            assert _principals(statement) == [("AWS", "${local.member_account_ids}")], statement["sid"]


def test_the_repository_policy_lets_the_execution_roles_pull_only(root):
    target, source = policy_attachments(root)["aws_ecr_repository_policy.this"]
    assert target == "aws_ecr_repository.this"
    (statement,) = document_statements(root, source)
    assert statement["effect"] == "Allow"
    assert _principals(statement) == [("AWS", "${var.ecs_execution_role_arns}")]
    assert sorted(statement["actions"]) == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
