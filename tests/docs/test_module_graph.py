"""The crate's modules import one way: no module reaches back, directly or through others,
to a module that uses it (e.g. `handler` -> `ports` -> `handler`). A cycle makes the code hard to
hold in mind and to test piece by piece, so it fails here with the modules named.

Reads `crate::<module>` paths (and `super::<module>` inside src/aws/) outside comments and
outside `#[cfg(test)]` parts; `alert::sns` counts as `alert`, `aws::ecr` as itself."""

import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def module_name(path: Path) -> str | None:
    rel = path.relative_to(SRC).with_suffix("").as_posix()
    if rel in ("main", "lib") or rel.startswith("bin/") or rel.endswith("/tests"):
        return None
    if rel.endswith("/mod"):
        rel = rel[: -len("/mod")]
    parts = rel.split("/")
    return "::".join(parts[:2]) if parts[0] == "aws" else parts[0]


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    aws_files = {p.stem for p in (SRC / "aws").glob("*.rs")}
    for path in sorted(SRC.rglob("*.rs")):
        name = module_name(path)
        if name is None:
            continue
        text = path.read_text(encoding="utf-8").split("#[cfg(test)]")[0]
        text = re.sub(r"//.*", "", text)
        deps = edges.setdefault(name, set())
        for a, b in re.findall(r"crate::([a-z_]+)(?:::([a-z_]+))?", text):
            deps.add(f"aws::{b}" if a == "aws" and b in aws_files else a)
        if name.startswith("aws::"):
            for m in re.findall(r"super::([a-z_]+)", text):
                deps.add(f"aws::{m}" if m in aws_files else "aws")
        deps.discard(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


class ImportsRunOneWay(unittest.TestCase):
    def test_the_graph_is_read(self):
        edges = graph()
        self.assertIn("ports", edges["handler"])
        self.assertIn("evaluation", edges["ports"])

    def test_a_cycle_would_be_found(self):
        self.assertEqual(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}), [["a", "b", "c"]])

    def test_no_module_cycle(self):
        edges = graph()
        found = cycles(edges)
        detail = "; ".join(
            ", ".join(f"{a} -> {sorted(edges[a] & set(c))}" for a in c) for c in found
        )
        self.assertEqual(found, [], f"modules that import each other: {detail}")


if __name__ == "__main__":
    unittest.main()
