"""Layout, variables, outputs, function, events, alerts and checks of infra/."""

import re

import pytest

from hcl_helpers import INFRA_DIR, block, data_source, load_module, resource

DATADOG_DIR = INFRA_DIR / "modules" / "datadog-monitor"
EXAMPLE_DIR = INFRA_DIR / "examples" / "design-single-repo"
ECS_HOOK_EXAMPLE_DIR = INFRA_DIR / "examples" / "ecs-lifecycle-hook"


@pytest.fixture(scope="module")
def module():
    return load_module()


@pytest.fixture(scope="module")
def datadog():
    return load_module(DATADOG_DIR)


# --- layout ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "versions.tf",
        "variables.tf",
        "outputs.tf",
        "ecr.tf",
        "lambda.tf",
        "events.tf",
        "sns.tf",
        "iam.tf",
        "alarms.tf",
        "ssm.tf",
        "README.md",
        "modules/datadog-monitor/versions.tf",
        "modules/datadog-monitor/variables.tf",
        "modules/datadog-monitor/main.tf",
        "modules/datadog-monitor/outputs.tf",
        "examples/design-single-repo/main.tf",
        "examples/design-single-repo/terraform.tfvars.example",
        "ecs_hook.tf",
        "examples/ecs-lifecycle-hook/main.tf",
        "examples/ecs-lifecycle-hook/README.md",
    ],
)
def test_file_exists(relative):
    assert (INFRA_DIR / relative).is_file(), relative


def test_main_module_needs_no_datadog_provider(module):
    providers = module["terraform"][0]["required_providers"]
    names = set().union(*[p.keys() for p in providers]) if isinstance(providers, list) else set(providers)
    assert "aws" in names and "datadog" not in names
    assert not any("datadog_" in t for t in module["resource"])


def test_required_versions(module):
    terraform = module["terraform"][0]
    assert terraform["required_version"] == ">= 1.11.0"


def test_example_uses_the_module_with_the_design_repository():
    example = load_module(EXAMPLE_DIR)
    call = example["module"]["ecr_scan_gate"]
    assert call["source"] == "../.."
    assert call["repository_names"] == ["demo-api"]
    assert call["environment"] == "poc"


# --- variables and outputs ---------------------------------------------------------


@pytest.mark.parametrize("directory", [INFRA_DIR, DATADOG_DIR, EXAMPLE_DIR, ECS_HOOK_EXAMPLE_DIR])
def test_every_variable_has_description_and_type(directory):
    for name, body in load_module(directory)["variable"].items():
        assert body.get("description"), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"


@pytest.mark.parametrize("directory", [INFRA_DIR, DATADOG_DIR, EXAMPLE_DIR, ECS_HOOK_EXAMPLE_DIR])
def test_every_output_has_description(directory):
    for name, body in load_module(directory)["output"].items():
        assert body.get("description"), f"output {name} has no description"


@pytest.mark.parametrize(
    ("variable", "fragment"),
    [
        ("repository_names", "[a-z0-9]+(?:[._-][a-z0-9]+)*"),
        ("memory_size", "var.memory_size >= 128 && var.memory_size <= 10240"),
        ("timeout", "var.timeout <= 900"),
        ("log_retention_days", "contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365"),
        ("quarantine_tag_prefix", "regex("),
        ("gate_policy", "keys(var.gate_policy)"),
        ("gate_policy_json", "jsondecode(var.gate_policy_json)"),
        ("gated_repository_patterns", "regex("),
        ("sweep_max_concurrency", "var.sweep_max_concurrency >= 2"),
        ("member_accounts", "[0-9]{12}"),
        ("slack_webhook_url", "hooks"),
        ("tracing_mode", "PassThrough"),
    ],
)
def test_validation(module, variable, fragment):
    conditions = [v["condition"] for v in module["variable"][variable].get("validation", [])]
    assert any(fragment in c for c in conditions), f"{variable}: no validation with {fragment!r} in {conditions}"


def test_webhook_url_is_secret_and_never_output(module):
    url = module["variable"]["slack_webhook_url"]
    assert url["sensitive"] is True
    assert url["ephemeral"] is True
    for name, body in module["output"].items():
        assert "slack_webhook_url" not in str(body["value"]).replace("slack_webhook_url_version", ""), name
        assert "aws_ssm_parameter.slack_webhook" not in str(body["value"]), name
    parameter = resource(module, "aws_ssm_parameter", "slack_webhook")
    assert parameter["type"] == "SecureString"
    assert parameter["value_wo"] == "${var.slack_webhook_url}"
    assert "value" not in parameter


@pytest.mark.parametrize(
    "output",
    [
        "ecr_repository_url",
        "ecr_repository_arn",
        "function_name",
        "function_arn",
        "sns_topic_arn",
        "dead_letter_queue_url",
        "slack_webhook_parameter_name",
        "gate_policy_parameter_name",
        "ecs_hook_role_arn",
    ],
)
def test_output_exists(module, output):
    assert output in module["output"]


# --- function ------------------------------------------------------------------


def test_function_runtime_and_architecture(module):
    function = resource(module, "aws_lambda_function", "gate")
    assert function["runtime"] == "provided.al2023"
    assert function["architectures"] == ["${var.architecture}"]
    assert module["variable"]["architecture"]["default"] == "arm64"
    assert function["handler"] == "bootstrap"
    assert function["memory_size"] == "${var.memory_size}"
    assert function["timeout"] == "${var.timeout}"
    # make deploy's zip (target/lambda-arm64/...) by default; the other architecture's build dir otherwise.
    assert "target/lambda-${var.architecture}/ecr-scan-gate/bootstrap.zip" in module["locals"]["lambda_zip_path"]


def test_function_environment_contract(module):
    environment = module["locals"]["function_environment"]
    for key in ("SNS_TOPIC_ARN", "GATE_POLICY_PARAMETER", "QUARANTINE_TAG_PREFIX", "DRY_RUN", "RUST_LOG", "SLACK_WEBHOOK_PARAMETER", "SWEEP_QUEUE_URL", "GATE_POLICY_REVISION", "GATE_REPOSITORIES"):
        assert re.search(rf"\b{key}\s*=", environment), f"{key} missing from the function environment"
    assert "local.member_environment" in environment
    members = module["locals"]["member_environment"]
    for key in ("MEMBER_ROLE_NAME", "MEMBER_ACCOUNTS", "MEMBER_ROLE_EXTERNAL_ID"):
        assert re.search(rf"\b{key}\s*=", members), f"{key} missing from the member environment"
    assert module["variable"]["quarantine_tag_prefix"]["default"] == "quarantine-"
    assert module["variable"]["rust_log"]["default"] == "info"
    assert module["variable"]["dry_run"]["default"] is False
    policy = resource(module, "aws_ssm_parameter", "gate_policy")
    assert policy["type"] == "SecureString"
    assert "jsonencode(var.gate_policy)" in module["locals"]["gate_policy_json"]
    default = module["variable"]["gate_policy"]["default"]
    assert default["fail"] == {"CRITICAL": 1} and default["warn"] == {"HIGH": 1}


def test_function_log_group_and_async_failures(module):
    logs = resource(module, "aws_cloudwatch_log_group", "gate")
    assert logs["retention_in_days"] == "${var.log_retention_days}"
    invoke = resource(module, "aws_lambda_function_event_invoke_config", "gate")
    assert invoke["maximum_retry_attempts"] == "${var.async_maximum_retry_attempts}"
    assert invoke["maximum_event_age_in_seconds"] == "${var.async_maximum_event_age_seconds}"
    on_failure = block(block(invoke, "destination_config"), "on_failure")
    assert on_failure["destination"] == "${aws_sqs_queue.dlq.arn}"


# --- events --------------------------------------------------------------------


def test_event_patterns(module):
    # The values are asserted on the plan by infra/tests/*.tftest.hcl; here the shape.
    scan = module["locals"]["ecr_image_scan_pattern"]
    assert scan["source"] == ["aws.ecr"] and scan["detail-type"] == ["ECR Image Scan"]
    assert scan["detail"]["repository-name"] == "${local.repository_name_matchers}"

    inspector_scan = module["locals"]["inspector2_scan_pattern"]
    assert inspector_scan["source"] == ["aws.inspector2"] and inspector_scan["detail-type"] == ["Inspector2 Scan"]
    assert inspector_scan["resources"] == "${local.repository_arn_matchers}"

    finding = module["locals"]["inspector2_finding_pattern"]
    assert finding["detail-type"] == ["Inspector2 Finding"]
    assert finding["detail"]["status"] == ["ACTIVE"]
    assert finding["detail"]["severity"] == "${var.inspector_finding_severities}"
    assert finding["detail"]["resources"]["type"] == ["AWS_ECR_CONTAINER_IMAGE"]
    assert finding["detail"]["resources"]["details"]["awsEcrContainerImage"]["repositoryName"] == "${local.repository_name_matchers}"
    assert module["variable"]["inspector_finding_severities"]["default"] == ["CRITICAL", "HIGH"]
    for name in ("ecr_image_scan_pattern", "inspector2_scan_pattern", "inspector2_finding_pattern"):
        assert "account" not in module["locals"][name], f"{name} must not pin `account` (member events)"


def test_event_targets_retry_and_dead_letter(module):
    target = resource(module, "aws_cloudwatch_event_target", "gate")
    retry = block(target, "retry_policy")
    assert retry["maximum_retry_attempts"] == "${var.event_target_maximum_retry_attempts}"
    assert block(target, "dead_letter_config")["arn"] == "${aws_sqs_queue.dlq.arn}"
    permission = resource(module, "aws_lambda_permission", "events")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == "${each.value.arn}"


# --- alerts, key, alarms ---------------------------------------------------------


def test_topic_uses_customer_managed_key_usable_by_alarms(module):
    topic = resource(module, "aws_sns_topic", "alerts")
    assert topic["kms_master_key_id"] == "${aws_kms_key.this.arn}"
    assert resource(module, "aws_kms_key", "this")["enable_key_rotation"] is True
    services = set()
    for statement in data_source(module, "aws_iam_policy_document", "kms")["statement"]:
        for principal in statement.get("principals", []):
            if principal["type"] == "Service":
                services.update(principal["identifiers"])
    assert {"cloudwatch.amazonaws.com", "events.amazonaws.com"} <= services


def test_chatbot_has_explicit_guardrail(module):
    chatbot = resource(module, "aws_chatbot_slack_channel_configuration", "alerts")
    assert chatbot["guardrail_policy_arns"] == "${local.chatbot_guardrail_policy_arns}"
    # Default guardrail: the module's own read-only policy, never an AWS managed one.
    assert "aws_iam_policy.chatbot_read_only[0].arn" in module["locals"]["chatbot_guardrail_policy_arns"]
    assert "ReadOnlyAccess" not in module["locals"]["chatbot_guardrail_policy_arns"]


def test_alarms_notify_the_topic(module):
    errors = resource(module, "aws_cloudwatch_metric_alarm", "function_errors")
    assert errors["namespace"] == "AWS/Lambda" and errors["metric_name"] == "Errors"
    dlq = resource(module, "aws_cloudwatch_metric_alarm", "dlq_messages")
    assert dlq["namespace"] == "AWS/SQS" and dlq["metric_name"] == "ApproximateNumberOfMessagesVisible"
    for alarm in (errors, dlq):
        assert alarm["alarm_actions"] == ["${aws_sns_topic.alerts.arn}"]


# --- Datadog module --------------------------------------------------------------


def test_datadog_monitor_critical_at_least_one(datadog):
    assert datadog["variable"]["critical_threshold"]["default"] == 1
    query = datadog["locals"]["query"]
    assert "max:${local.metric_name}" in query and "by {${var.repository_tag}}" in query
    assert query.endswith(">= ${var.critical_threshold}")
    monitor = resource(datadog, "datadog_monitor", "critical_findings")
    assert monitor["type"] == "metric alert"
    assert block(monitor, "monitor_thresholds")["critical"] == "${var.critical_threshold}"


# --- checkov skips ------------------------------------------------------------------

SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_every_checkov_skip_has_a_reason():
    skips = []
    for path in INFRA_DIR.rglob("*.tf"):
        if ".terraform" in path.parts:
            continue
        for match in SKIP.finditer(path.read_text(encoding="utf-8")):
            skips.append(match.group(1))
            assert match.group(2) and len(match.group(2).strip()) >= 20, f"{path.name}: {match.group(1)} skipped without a reason"
    # The design's own choices are skipped with their reason.
    assert {"CKV_AWS_51", "CKV_AWS_136"} <= set(skips)


def _datadog_name(namespace: str, metric: str) -> str:
    """The Datadog AWS integration's name of a custom-namespace metric: the
    namespace lowercased ('/' -> '.'), the metric in snake_case."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", metric).lower()
    return f"{namespace.replace('/', '.').lower()}.{snake}"


def test_datadog_metric_name_follows_the_emitted_namespace(datadog):
    from test_dashboard_matches_code import rust_metrics

    namespace, _, _ = rust_metrics()
    assert datadog["variable"]["metrics_namespace"]["default"] == namespace
    assert datadog["variable"]["metric_name"]["default"] is None
    assert datadog["locals"]["datadog_prefix"] == '${lower(replace(var.metrics_namespace, "/", "."))}'
    assert datadog["locals"]["metric_name"] == '${coalesce(var.metric_name, "${local.datadog_prefix}.critical_findings")}'
    # The documented examples of the rule.
    assert _datadog_name("ECS/ContainerInsights", "CpuUtilized") == "ecs.containerinsights.cpu_utilized"
    assert _datadog_name(namespace, "CriticalFindings") == "ecrscangate.critical_findings"


def test_datadog_no_data_guard(datadog):
    guard = resource(datadog, "datadog_monitor", "no_data")
    assert guard["notify_no_data"] is True
    assert guard["no_data_timeframe"] == "${var.no_data_timeframe_minutes}"
    assert "${local.evaluations}" in guard["query"]
    assert datadog["locals"]["evaluations"] == "${local.datadog_prefix}.evaluations"
