"""Helpers of the infra tests: parse the Terraform files with python-hcl2 and
extract the AWS operations the Rust adapters call."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
from hcl2 import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
RUST_AWS_DIR = REPO_ROOT / "src" / "adapters" / "aws"

# The modules whose attachments the tests read (tests/infra/conftest.py parses each once).
MEMBER_DIR = INFRA_DIR / "modules" / "member"
TEAM_EXCEPTIONS_DIR = INFRA_DIR / "modules" / "team-exceptions"
ORGANIZATION_DIR = INFRA_DIR / "examples" / "organization"
EXAMPLE_DIRS = sorted(p for p in (INFRA_DIR / "examples").iterdir() if p.is_dir() and any(p.glob("*.tf")))
MODULE_DIRS = {
    "root": INFRA_DIR,
    "member": MEMBER_DIR,
    "team-exceptions": TEAM_EXCEPTIONS_DIR,
    **{f"examples/{d.name}": d for d in EXAMPLE_DIRS},
}

# Services whose actions must equal the code's calls: the IAM service prefix of
# each adapter, by the file stem of src/adapters/aws/*.rs up to its first `_`
# (inspector.rs, inspector_*.rs call aws_sdk_inspector2, whose actions are inspector2:*;
# ecs.rs, ecs_*.rs call aws_sdk_ecs, the ECS deployment lifecycle hook's reads).
SERVICE_OF_STEM = {
    "ecr": "ecr",
    "ecs": "ecs",
    "sns": "sns",
    "ssm": "ssm",
    "sqs": "sqs",
    "inspector": "inspector2",
    "inspector2": "inspector2",
}
COMPARED_SERVICES = tuple(sorted(set(SERVICE_OF_STEM.values())))

# SDK operations authorised by an IAM action of another name.
# SendMessageBatch is authorised by sqs:SendMessage (there is no sqs:SendMessageBatch action).
ACTION_OF_OPERATION = {"sqs:SendMessageBatch": "sqs:SendMessage"}

# A call through another service's client, in an adapter named after its own service: the
# operation is the other service's when the file imports that service's SDK crate
# (`aws_sdk_<service>`) and the operation is one of the names listed here, which no
# compared service has but that one. E.g. ecr_archive.rs asks Amazon Inspector whether an
# image is in use (ListFindingAggregations) before it archives it.
FOREIGN_OPERATIONS = {
    "inspector2": frozenset({"ListFindingAggregations", "ListFindings", "ListCoverage"}),
}

_OPTIONS = SerializationOptions(
    strip_string_quotes=True,
    explicit_blocks=False,
    with_comments=False,
)


def load_module(directory: Path = INFRA_DIR) -> dict:
    """Parse every .tf file of one module directory (not sub-directories) into
    {"resource": {type: {name: body}}, "data": {...}, "variable": {name: body},
     "output": {name: body}, "locals": {name: value}, "module": {...}, "terraform": [...]}."""
    merged: dict = {"resource": {}, "data": {}, "variable": {}, "output": {}, "locals": {}, "module": {}, "terraform": []}
    files = sorted(directory.glob("*.tf"))
    if not files:
        raise AssertionError(f"no .tf file in {directory}")
    for path in files:
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle, serialization_options=_OPTIONS)
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for type_name, by_name in entry.items():
                    merged[kind].setdefault(type_name, {}).update(by_name)
        for kind in ("variable", "output", "module"):
            for entry in parsed.get(kind, []):
                merged[kind].update(entry)
        for entry in parsed.get("locals", []):
            merged["locals"].update(entry)
        merged["terraform"].extend(parsed.get("terraform", []))
    return merged


def resource(module: dict, type_name: str, name: str) -> dict:
    try:
        return module["resource"][type_name][name]
    except KeyError as err:
        raise AssertionError(f"resource {type_name}.{name} is missing") from err


def data_source(module: dict, type_name: str, name: str) -> dict:
    try:
        return module["data"][type_name][name]
    except KeyError as err:
        raise AssertionError(f"data {type_name}.{name} is missing") from err


def block(body: dict, name: str) -> dict:
    """The single nested block `name` of a resource body."""
    value = body.get(name)
    assert isinstance(value, list) and len(value) == 1, f"expected one `{name}` block, got {value!r}"
    return value[0]


_VAR_REF = re.compile(r"^\$\{var\.([A-Za-z0-9_]+)\}$")


def resolve(value, module: dict):
    """A literal stays as it is; `${var.x}` becomes the default of variable x."""
    if isinstance(value, str):
        match = _VAR_REF.match(value)
        if match:
            variable = module["variable"].get(match.group(1))
            assert variable is not None, f"variable {match.group(1)} is not declared"
            assert "default" in variable, f"variable {match.group(1)} has no default"
            return variable["default"]
    return value


# --- IAM of the function role -------------------------------------------------

_DOC_REF = re.compile(r"data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json")
_ROLE_REF = re.compile(r"aws_iam_role\.([A-Za-z0-9_]+)\.(?:id|name|arn)")
# The same, for a role or document with `count` (`aws_iam_role.ecs_hook[0].id`).
_COUNTED_DOC_REF = re.compile(r"data\.aws_iam_policy_document\.([A-Za-z0-9_]+)(?:\[0\])?\.json")
_COUNTED_ROLE_REF = re.compile(r"aws_iam_role\.([A-Za-z0-9_]+)(?:\[0\])?\.(?:id|name|arn)")


def statements_of(document: dict) -> list[dict]:
    """The statements of a policy document as written, dynamic ones included."""
    statements = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        if "statement" in dynamic:
            statements.extend(dynamic["statement"].get("content", []))
    return statements


def conditions_of(statement: dict) -> list[dict]:
    """The condition blocks of a statement as written, dynamic ones included."""
    conditions = list(statement.get("condition", []))
    for dynamic in statement.get("dynamic", []):
        if "condition" in dynamic:
            conditions.extend(dynamic["condition"].get("content", []))
    return conditions


def function_role_name(module: dict) -> str:
    function = resource(module, "aws_lambda_function", "gate")
    match = _ROLE_REF.search(function["role"])
    assert match, f"aws_lambda_function.gate.role does not reference a role of this module: {function['role']!r}"
    return match.group(1)


def function_role_statements(module: dict) -> list[dict]:
    """Every statement granted to the function's role by the module's policy documents."""
    role = function_role_name(module)
    statements: list[dict] = []
    attached = 0
    for name, body in module["resource"].get("aws_iam_role_policy", {}).items():
        role_match = _ROLE_REF.search(str(body.get("role", "")))
        if not role_match or role_match.group(1) != role:
            continue
        doc_match = _DOC_REF.search(str(body.get("policy", "")))
        assert doc_match, f"aws_iam_role_policy.{name} must take its policy from an aws_iam_policy_document"
        statements.extend(statements_of(data_source(module, "aws_iam_policy_document", doc_match.group(1))))
        attached += 1
    assert attached > 0, f"no aws_iam_role_policy attached to aws_iam_role.{role}"
    for name, body in module["resource"].get("aws_iam_role_policy_attachment", {}).items():
        role_match = _ROLE_REF.search(str(body.get("role", "")))
        assert not role_match or role_match.group(1) != role, (
            f"aws_iam_role_policy_attachment.{name} attaches a managed policy to the function role; "
            "its actions cannot be compared with the code: use the inline policy document"
        )
    return statements


def role_policies(module: dict, role: str) -> list[tuple[str, list[dict]]]:
    """(name, statements) of every aws_iam_role_policy on aws_iam_role.<role> (with or
    without `count`), each from its aws_iam_policy_document."""
    found = []
    for name, body in module["resource"].get("aws_iam_role_policy", {}).items():
        role_match = _COUNTED_ROLE_REF.search(str(body.get("role", "")))
        if not role_match or role_match.group(1) != role:
            continue
        doc_match = _COUNTED_DOC_REF.search(str(body.get("policy", "")))
        assert doc_match, f"aws_iam_role_policy.{name} must take its policy from an aws_iam_policy_document"
        found.append((name, statements_of(data_source(module, "aws_iam_policy_document", doc_match.group(1)))))
    return found


def role_attachments(module: dict, role: str) -> list[str]:
    """Names of the aws_iam_role_policy_attachment resources on aws_iam_role.<role>."""
    return [
        name
        for name, body in module["resource"].get("aws_iam_role_policy_attachment", {}).items()
        if (m := _COUNTED_ROLE_REF.search(str(body.get("role", "")))) and m.group(1) == role
    ]


def granted_actions(module: dict) -> set[str]:
    actions: set[str] = set()
    for statement in function_role_statements(module):
        assert statement.get("effect", "Allow") == "Allow", "the function role has only Allow statements"
        value = statement.get("actions", [])
        assert isinstance(value, list), f"actions must be a literal list, got {value!r}"
        actions.update(value)
    return actions


def compared_actions(actions: set[str]) -> set[str]:
    return {a for a in actions if a.split(":", 1)[0] in COMPARED_SERVICES}


# --- AWS operations the Rust code calls ----------------------------------------

# An SDK call is `client` or `client()` (a lazily built client's accessor) then
# `.<snake_case_operation>()`, possibly split across lines by rustfmt
# (`self.client\n    .put_image()`, `self\n    .client()\n    .send_message_batch()`).
OPERATION_CALL = re.compile(r"client\s*(?:\(\s*\)\s*)?\.\s*([a-z0-9_]+)\s*\(\)")

# Methods of a client that are not AWS operations.
NOT_OPERATIONS = frozenset({"clone", "config", "as_ref", "to_owned", "borrow"})

_FULL_LINE_COMMENT = re.compile(r"^\s*//.*$", re.M)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def snake_to_pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def extract_operations(rust_source: str) -> set[str]:
    """PascalCase names of the SDK operations called in a Rust source file."""
    source = _BLOCK_COMMENT.sub("", _FULL_LINE_COMMENT.sub("", rust_source))
    return {snake_to_pascal(m) for m in OPERATION_CALL.findall(source) if m not in NOT_OPERATIONS}


def service_of_operation(file_service: str, operation: str, rust_source: str) -> str:
    """The IAM service of one call in a file of `file_service`: that service, unless the
    file imports another service's SDK crate and the operation is that service's
    (FOREIGN_OPERATIONS)."""
    for service, operations in FOREIGN_OPERATIONS.items():
        if service != file_service and operation in operations and re.search(rf"\baws_sdk_{service}\b", rust_source):
            return service
    return file_service


def code_actions(aws_dir: Path = RUST_AWS_DIR) -> set[str]:
    """`service:Operation` for every SDK call in src/adapters/aws/<stem>.rs and src/adapters/aws/<stem>_*.rs
    (stem = the file stem up to its first `_`, e.g. ecr_inventory.rs is ECR; service = its IAM
    prefix in SERVICE_OF_STEM, e.g. inspector.rs is inspector2, ecs.rs is ecs; a call through
    another service's client is that service's, see FOREIGN_OPERATIONS)."""
    actions: set[str] = set()
    for path in sorted(aws_dir.glob("*.rs")):
        service = SERVICE_OF_STEM.get(path.stem.split("_", 1)[0])
        if service is None:
            continue
        source = path.read_text(encoding="utf-8")
        for op in extract_operations(source):
            action = f"{service_of_operation(service, op, source)}:{op}"
            actions.add(ACTION_OF_OPERATION.get(action, action))
    return actions


# --- policy attachments: which resource takes which policy ---------------------------

# A reference to a resource or data source of the module, as written in an expression:
# `aws_iam_role.gate.id`, `aws_cloudwatch_event_rule.gate` (a for_each over it), `aws_iam_role.scheduler[0].arn`,
# `data.aws_iam_policy_document.sweep_queues["sweep"].json`.
_RESOURCE_REF = re.compile(
    r"\b((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)((?:\[[^\]]*\])?)(?:\.[a-z_]+)?\b"
)
# Every reference to a policy document, wherever it is used.
DOCUMENT_REF = re.compile(r"\bdata\.aws_iam_policy_document\.([A-Za-z0-9_-]+)")

# The argument of each attaching resource type that takes the policy, and the argument
# that names what it is attached to (None: the resource itself takes the policy).
POLICY_ARGUMENTS = {
    "aws_iam_role": ("assume_role_policy", None),
    "aws_iam_role_policy": ("policy", "role"),
    "aws_iam_policy": ("policy", None),
    "aws_iam_role_policy_attachment": ("policy_arn", "role"),
    "aws_sns_topic_policy": ("policy", "arn"),
    "aws_sqs_queue_policy": ("policy", "queue_url"),
    "aws_kms_key": ("policy", None),
    "aws_cloudwatch_event_bus_policy": ("policy", "event_bus_name"),
    "aws_ecr_repository_policy": ("policy", "repository"),
    "aws_lambda_permission": ("source_arn", "function_name"),
}


def reference(value, body: dict | None = None) -> str:
    """The one thing an expression names, canonical: `aws_iam_role.scheduler` (a `[0]` of a
    counted resource dropped), `data.aws_iam_policy_document.sweep_queues["sweep"]` (a
    for_each key kept), or, for anything but a resource of the module, the expression itself
    without `${}` (`var.role_name`, `local.policy`). `each.value.<attr>` is the resource the
    body's for_each iterates over."""
    text = str(value)
    if body is not None and re.fullmatch(r"\$\{each\.value\.[a-z_]+\}", text):
        text = str(body.get("for_each", ""))
    found = {m.group(1) + ("" if m.group(2) in ("", "[0]") else m.group(2)) for m in _RESOURCE_REF.finditer(text)}
    if not found:
        bare = re.fullmatch(r"\$\{(.+)\}", text)
        return bare.group(1) if bare else text
    assert len(found) == 1, f"{value!r} names more than one resource: {sorted(found)}"
    return found.pop()


def policy_attachments(module: dict) -> dict[str, tuple[str, str]]:
    """`type.name` of every resource that attaches a policy (or, for a Lambda permission,
    grants an invocation) -> (what it is attached to, where the policy comes from), both as
    reference() gives them."""
    found = {}
    for type_name, (policy_argument, target_argument) in POLICY_ARGUMENTS.items():
        for name, body in module["resource"].get(type_name, {}).items():
            address = f"{type_name}.{name}"
            assert policy_argument in body, f"{address} has no {policy_argument}"
            target = address if target_argument is None else reference(body[target_argument], body)
            found[address] = (target, reference(body[policy_argument], body))
    return found


def document_statements(module: dict, ref: str) -> list[dict]:
    """The statements of `data.aws_iam_policy_document.<name>[<key>]`; in a document with
    for_each, `${each.value}` is replaced by that key's value of the for_each map."""
    match = re.fullmatch(r'data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)(?:\["([^"]+)"\])?', ref)
    assert match, f"not a policy document: {ref!r}"
    document = data_source(module, "aws_iam_policy_document", match.group(1))
    statements = statements_of(document)
    key = match.group(2)
    if key is None:
        assert "for_each" not in document, f"{ref} has for_each: name one of its keys"
        return statements
    entry = re.search(rf"(?:^|[{{,\s]){re.escape(key)}\s*=\s*([^,}}]+)", str(document.get("for_each", "")))
    assert entry, f"{ref}: no key {key!r} in its for_each {document.get('for_each')!r}"
    value = "${" + entry.group(1).strip() + "}"

    def substitute(node):
        if isinstance(node, dict):
            return {k: substitute(v) for k, v in node.items()}
        if isinstance(node, list):
            return [substitute(v) for v in node]
        return value if node == "${each.value}" else node

    return [substitute(s) for s in statements]
