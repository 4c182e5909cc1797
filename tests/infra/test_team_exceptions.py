"""Team exception documents (issue 21, SPEC 11.5) and the size of the policy parameter.

The gate module: exceptions_parameter_path (off by default) gives the function
EXCEPTIONS_PARAMETER_PATH and ssm:GetParametersByPath on that path only; the policy
parameter is Standard up to 4096 bytes as stored and Advanced up to 8192.
modules/team-exceptions: one team's parameter under the path and a policy that lets the
team write it and nothing else. infra/tests/exceptions.tftest.hcl and examples.tftest.hcl
check the same on plans; here the wiring a plan cannot show (which local each resource
takes, the lifecycle, what the module does not create) and the docs.
"""

import re

import pytest

from hcl_helpers import INFRA_DIR, REPO_ROOT, TEAM_EXCEPTIONS_DIR, data_source, function_role_statements, load_module, resource

ARN_PREFIX = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter"


@pytest.fixture(scope="module")
def team():
    return load_module(TEAM_EXCEPTIONS_DIR)


def _dynamic(root, sid):
    document = data_source(root, "aws_iam_policy_document", "gate")
    found = [
        (d["statement"]["for_each"], content)
        for d in document.get("dynamic", [])
        if "statement" in d
        for content in d["statement"]["content"]
        if content.get("sid") == sid
    ]
    assert len(found) == 1, f"dynamic statement {sid}: {len(found)} found"
    return found[0]


# --- the gate module ---------------------------------------------------------------


def test_exceptions_are_off_by_default(root):
    variable = root["variable"]["exceptions_parameter_path"]
    assert variable["default"] is None and variable["type"] == "string"
    assert root["locals"]["exceptions_enabled"] == "${var.exceptions_parameter_path != null}"


def test_environment_variable_follows_the_path(root):
    environment = root["locals"]["function_environment"]
    assert "local.exceptions_enabled ? {EXCEPTIONS_PARAMETER_PATH = var.exceptions_parameter_path} : {}" in environment
    assert environment.count("EXCEPTIONS_PARAMETER_PATH") == 1


def test_get_parameters_by_path_on_the_path_only(root):
    for_each, statement = _dynamic(root, "SsmReadTeamExceptions")
    assert for_each == "${local.exceptions_enabled ? [1] : []}"
    assert statement["actions"] == ["ssm:GetParametersByPath"]
    assert statement["resources"] == "${local.exceptions_parameter_path_arns}"
    assert root["locals"]["exceptions_parameter_path_arns"] == (
        "${local.exceptions_enabled ? ["
        f'"{ARN_PREFIX}' '${trimsuffix(var.exceptions_parameter_path, "/")}", '
        f'"{ARN_PREFIX}' '${var.exceptions_parameter_path}*"'
        "] : []}"
    )
    holders = [s.get("sid") for s in function_role_statements(root) if "ssm:GetParametersByPath" in s.get("actions", [])]
    assert holders == ["SsmReadTeamExceptions"]


def test_vex_parameters_follow_the_policy(root):
    """The policy's vex entries {"parameter": name} are read with GetParameter at start: the
    role may read them, found in the policy as stored (like block.archive)."""
    resources = next(s for s in function_role_statements(root) if s.get("sid") == "SsmReadParameters")["resources"]
    assert "local.gate_vex_parameter_arns" in resources
    names = root["locals"]["gate_vex_parameter_names"]
    assert "jsondecode(local.gate_policy_json).vex" in names and "v.parameter" in names


def test_no_kms_grant_of_its_own(root):
    """Decision: a SecureString under the path is encrypted with aws/ssm (its key policy lets
    the account's principals decrypt through SSM) or with the gate's key, which the function
    may already use; the exceptions add no KMS statement."""
    kms = [s for s in function_role_statements(root) if any(a.startswith("kms:") for a in s.get("actions", []))]
    assert [s.get("sid") for s in kms] == ["KmsDecryptParameters", "KmsUseModuleKey"]
    assert all(s["resources"] == ["${aws_kms_key.this.arn}"] for s in kms)
    # Decryption of parameters only through SSM.
    assert kms[0]["actions"] == ["kms:Decrypt"]
    assert kms[0]["condition"] == [{"test": "StringEquals", "variable": "kms:ViaService", "values": ["ssm.${local.region}.amazonaws.com"]}]


@pytest.mark.parametrize(
    "fragment",
    [
        '"^/([A-Za-z0-9_.-]+/){1,14}$"',  # starts and ends with '/', at least one level
        "(aws|ssm)",  # reserved prefixes
        "local.gate_policy_parameter_name, local.slack_webhook_parameter_name",  # not the gate's own
    ],
)
def test_path_validations(root, fragment):
    conditions = [v["condition"] for v in root["variable"]["exceptions_parameter_path"]["validation"]]
    assert any(fragment in c for c in conditions), f"no validation with {fragment!r}"
    # Terraform 1.11 does not short-circuit ||: every condition tests null with a conditional.
    assert all(c.startswith("${var.exceptions_parameter_path == null ? true :") for c in conditions)


def test_path_is_an_output(root):
    assert root["output"]["exceptions_parameter_path"]["value"] == "${var.exceptions_parameter_path}"


# --- the policy parameter's size -----------------------------------------------------


def test_policy_tier_follows_the_stored_bytes(root):
    parameter = resource(root, "aws_ssm_parameter", "gate_policy")
    assert parameter["tier"] == "${local.gate_policy_tier}"
    assert parameter["value"] == "${local.gate_policy_json}"
    locals_ = root["locals"]
    assert locals_["ssm_standard_value_limit"] == 4096 and locals_["ssm_advanced_value_limit"] == 8192
    assert locals_["gate_policy_base64"] == "${base64encode(local.gate_policy_json)}"
    assert locals_["gate_policy_tier"] == '${local.gate_policy_bytes > local.ssm_standard_value_limit ? "Advanced" : "Standard"}'
    (precondition,) = parameter["lifecycle"][0]["precondition"]
    assert precondition["condition"] == "${local.gate_policy_bytes <= local.ssm_advanced_value_limit}"


def test_base64_counts_utf8_bytes():
    """The byte count of ssm.tf, in Python: 4 base64 characters per 3 bytes, less the padding."""
    import base64

    for text in ["", "a", "ab", "abc", "<é", "脆弱性", '{"fail":{"CRITICAL":1}}', "x" * 4097]:
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        assert len(encoded) // 4 * 3 - encoded.count("=") == len(text.encode("utf-8")), text


@pytest.mark.parametrize(
    ("variable", "fragment"),
    [
        ("gate_policy", "length(jsonencode(var.gate_policy)) <= 8192"),
        ("gate_policy_json", "length(var.gate_policy_json) <= 8192"),
    ],
)
def test_policy_variables_allow_the_advanced_limit(root, variable, fragment):
    body = root["variable"][variable]
    validations = body["validation"]
    assert any(fragment in v["condition"] for v in validations), f"{variable}: no validation with {fragment!r}"
    assert not any("4096" in v["condition"] for v in validations), f"{variable} still stops at 4096"
    message = next(v["error_message"] for v in validations if fragment in v["condition"])
    assert "8192" in message and "Advanced" in message
    # Advanced parameters cost money: the description says so.
    assert "Advanced" in body["description"] and "bill" in body["description"]


# --- modules/team-exceptions ---------------------------------------------------------


def test_module_files():
    for name in ("versions.tf", "variables.tf", "main.tf", "outputs.tf", "README.md"):
        assert (TEAM_EXCEPTIONS_DIR / name).is_file(), name


def test_team_parameter_is_path_and_team(team):
    assert team["locals"]["parameter_name"] == "${var.path}${var.team}"
    assert team["locals"]["parameter_arn"] == f"{ARN_PREFIX}${{local.parameter_name}}"
    parameter = resource(team, "aws_ssm_parameter", "this")
    assert parameter["name"] == "${local.parameter_name}"
    assert parameter["value"] == "${local.document_json}"
    assert parameter["key_id"] == '${var.type == "SecureString" ? var.kms_key_arn : null}'
    # The team owns its value after the seed; no apply puts the seed back or replaces the
    # parameter to make an Advanced one Standard.
    assert parameter["lifecycle"] == [{"ignore_changes": ["value", "tier"]}]
    # One team, one segment.
    conditions = [v["condition"] for v in team["variable"]["team"]["validation"]]
    assert any('"^[A-Za-z0-9_.-]{1,64}$"' in c for c in conditions)


def test_team_policy_writes_its_own_parameter_only(team):
    locals_ = team["locals"]
    write = locals_["write_statement"]
    assert write == {
        "Sid": "WriteOwnExceptionsDocument",
        "Effect": "Allow",
        "Action": ["ssm:GetParameter", "ssm:PutParameter"],
        "Resource": "${local.parameter_arn}",
    }
    kms = locals_["kms_statement"]
    assert kms["Resource"] == "${var.kms_key_arn}"
    assert kms["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "ssm.${local.region}.amazonaws.com",
            "kms:EncryptionContext:PARAMETER_ARN": "${local.parameter_arn}",
        }
    }
    assert "concat([local.write_statement], var.kms_key_arn == null ? [] : [local.kms_statement])" in locals_["policy"]
    policy = resource(team, "aws_iam_policy", "this")
    assert policy["policy"] == "${local.policy}"
    assert team["output"]["policy_json"]["value"] == "${local.policy}"


def test_team_module_grants_nothing_else(team):
    """One managed policy, attached to the named role at most; no role, user, group, inline
    policy or resource policy of its own, and nothing of the gate."""
    assert set(team["resource"]) == {"aws_ssm_parameter", "aws_iam_policy", "aws_iam_role_policy_attachment"}
    assert set(team["resource"]["aws_iam_policy"]) == {"this"}
    attachment = resource(team, "aws_iam_role_policy_attachment", "this")
    assert attachment["count"] == "${var.role_name == null ? 0 : 1}"
    assert attachment["role"] == "${var.role_name}"
    assert attachment["policy_arn"] == "${aws_iam_policy.this.arn}"
    text = (TEAM_EXCEPTIONS_DIR / "main.tf").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert '"*"' not in code and ":*" not in code


def test_team_document_validation(team):
    conditions = " ".join(v["condition"] for v in team["variable"]["document"]["validation"])
    assert "keys(var.document)" in conditions
    # The gate's ExceptionsDoc denies unknown fields: the plan refuses them too.
    assert 'contains(["repositories", "allowlist", "vex"], k)' in conditions
    assert "length(var.document.repositories) > 0" in conditions
    assert "<= 8192" in conditions


def test_team_module_outputs(team):
    assert team["output"]["parameter_name"]["value"] == "${aws_ssm_parameter.this.name}"
    assert team["output"]["policy_arn"]["value"] == "${aws_iam_policy.this.arn}"
    for name, body in team["output"].items():
        assert body.get("description"), name
    for name, body in team["variable"].items():
        assert body.get("description") and body.get("type"), name


# --- checks and docs -----------------------------------------------------------------


def test_check_infra_validates_the_module():
    script = (REPO_ROOT / "scripts" / "check-infra.sh").read_text(encoding="utf-8")
    loop = re.search(r"^for dir in (.+); do$", script, re.M)
    assert loop and "infra/modules/team-exceptions" in loop.group(1).split()


def test_tftest_plans_the_module():
    tests = (INFRA_DIR / "tests" / "examples.tftest.hcl").read_text(encoding="utf-8")
    assert tests.count('source = "./modules/team-exceptions"') >= 3


def test_docs():
    readme = (INFRA_DIR / "README.md").read_text(encoding="utf-8")
    for fragment in ("exceptions_parameter_path", "EXCEPTIONS_PARAMETER_PATH", "ssm:GetParametersByPath",
                     "modules/team-exceptions", "Advanced", "8192", "4096"):
        assert fragment in readme, f"infra/README.md does not mention {fragment}"
    module_readme = (TEAM_EXCEPTIONS_DIR / "README.md").read_text(encoding="utf-8")
    for fragment in ("repositories", "ssm:PutParameter", "ignore_changes", "aws ssm put-parameter",
                     "policy validate --exceptions", "kms_key_arn", "aws/ssm", "role_name"):
        assert fragment in module_readme, f"modules/team-exceptions/README.md does not mention {fragment}"
