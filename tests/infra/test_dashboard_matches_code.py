"""The CloudWatch dashboard (infra/dashboard.tf) names the metrics the function
emits (src/engine/metrics.rs): namespace, dimension sets and metric names."""

import re

from hcl_helpers import INFRA_DIR, REPO_ROOT, load_module, resource

METRICS_RS = REPO_ROOT / "src" / "engine" / "metrics.rs"


def rust_metrics():
    """(namespace, [metric names], [[dimension, ...], ...]) as src/engine/metrics.rs emits them."""
    source = METRICS_RS.read_text(encoding="utf-8")
    namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)";', source).group(1)
    finding_block = re.search(r"pub const FINDING_METRICS[^=]*=\s*\[(.*?)\];", source, re.S).group(1)
    names = re.findall(r'\(Severity::\w+,\s*"(\w+)"\)', finding_block)
    extra = re.search(r"for name in \[([^\]]*)\]\s*\{\s*metrics\.push", source).group(1)
    names += re.findall(r'"(\w+)"', extra)
    # The dimension sets every record carries (ACCOUNT_DIMENSIONS come only with member accounts).
    dims = re.search(r"pub const DIMENSIONS:[^=]*=\s*\[(.*?)\];", source, re.S).group(1)
    dimensions = [re.findall(r'"(\w+)"', group) for group in re.findall(r"&\[([^\[\]]*)\]", dims)]
    return namespace, names, dimensions


def test_rust_metrics_parse():
    namespace, names, dimensions = rust_metrics()
    assert namespace and len(names) >= 10 and dimensions, (namespace, names, dimensions)


def test_dashboard_names_the_emitted_metrics():
    module = load_module()
    namespace, names, dimensions = rust_metrics()
    locals_ = module["locals"]
    assert module["locals"]["metrics_namespace"] == namespace
    assert locals_["emf_finding_metrics"] + locals_["emf_action_metrics"] == names
    assert [locals_["emf_dimensions_repository"], locals_["emf_dimensions_verdict"]] == dimensions


def test_dashboard_has_errors_and_dead_letter_depth():
    text = (INFRA_DIR / "dashboard.tf").read_text(encoding="utf-8")
    assert '"AWS/Lambda", "Errors"' in text
    assert "aws_sqs_queue.dlq.name" in text and "aws_sqs_queue.sweep_dlq[0].name" in text
    body = resource(load_module(), "aws_cloudwatch_dashboard", "gate")["dashboard_body"]
    assert "local.dashboard_widgets" in body


def test_the_sweep_alarm_watches_the_metric_the_sweep_emits():
    source = METRICS_RS.read_text(encoding="utf-8")
    names = re.findall(r'"(\w+)"', re.search(r"pub const SWEEP_METRICS[^=]*=\s*\[(.*?)\];", source, re.S).group(1))
    dims = re.search(r"pub const SWEEP_DIMENSIONS[^=]*=\s*\[(.*?)\];", source, re.S).group(1)
    alarm = resource(load_module(), "aws_cloudwatch_metric_alarm", "sweep_incomplete")
    assert alarm["metric_name"] == "SweepIncomplete" and "SweepIncomplete" in names
    assert alarm["namespace"] == "${local.metrics_namespace}"
    assert list(alarm["dimensions"].keys()) == re.findall(r'"(\w+)"', dims) == ["FunctionName"]
