"""The crate's folders are layers, and imports run one way: down.

    entry, cli  ->  adapters  ->  engine | render  ->  judgement  ->  policy  ->  domain

`engine` and `render` stand side by side and never import each other. A file may import from
its own layer and from the layers below it; an import that runs up or across (e.g. `judgement`
-> `engine`, `engine` -> `adapters`, `render` -> `engine`) fails here with the file, the import
and the rule. So do: a pure layer (domain, policy, judgement, render) that names an async
runtime, an AWS SDK crate or an HTTP client; a file at the root of `src/` other than `lib.rs`
and `main.rs`, or a folder that is no known layer; and a cycle between modules, which makes the
code hard to hold in mind and to test piece by piece.

Reads `crate::` paths (with their `{...}` groups) and `super::` paths outside comments and
outside `#[cfg(test)]` parts; `src/bin/` and `main.rs` are the binaries on top and are not read.
"""

import re
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

# Each layer and the layers it may import (besides itself).
ALLOWED = {
    "domain": set(),
    "policy": {"domain"},
    "judgement": {"policy", "domain"},
    "render": {"judgement", "policy", "domain"},
    "engine": {"judgement", "policy", "domain"},
    "adapters": {"engine", "render", "judgement", "policy", "domain"},
    "entry": {"adapters", "engine", "render", "judgement", "policy", "domain"},
    "cli": {"entry", "adapters", "engine", "render", "judgement", "policy", "domain"},
}
PURE = ("domain", "policy", "judgement", "render")
# What a pure layer must not name: an async runtime, the AWS SDK, an HTTP client, Lambda.
IMPURE = re.compile(r"\b(tokio|aws_[a-z_]+|reqwest|hyper|lambda_runtime)::")
ROOT_FILES = {"lib.rs", "main.rs"}
SEGMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\*)")
GROUP_OPEN = re.compile(r"\s*\{")
GROUP_CLOSE = re.compile(r"\s*\}")
COMMA = re.compile(r"\s*,")


def module_of(path: Path, src: Path) -> str | None:
    """`src/engine/gate.rs` -> `engine::gate`; `src/engine/mod.rs` -> `engine`; None for the
    binaries and for `tests.rs` files (test code)."""
    rel = path.relative_to(src).with_suffix("").as_posix()
    if rel in ("main", "lib") or rel.startswith("bin/") or rel.endswith("/tests"):
        return None
    if rel.endswith("/mod"):
        rel = rel[: -len("/mod")]
    return rel.replace("/", "::")


def code_of(path: Path) -> str:
    """The file's text without its `#[cfg(test)]` part and without comments."""
    text = path.read_text(encoding="utf-8").split("#[cfg(test)]")[0]
    return re.sub(r"//.*", "", text)


def paths_in(text: str, start: int) -> tuple[list[list[str]], int]:
    """The paths spelled from `start` (after `crate::` or `super::`): `a::b::C`, or
    `a::{b::C, d}` expanded to every path. Returns them and where the spelling ends."""
    found: list[list[str]] = []
    prefix: list[str] = []
    i = start
    while True:
        group = GROUP_OPEN.match(text, i)
        if group:
            i = group.end()
            while not GROUP_CLOSE.match(text, i):
                sub, i = paths_in(text, i)
                found.extend(prefix + p for p in sub)
                comma = COMMA.match(text, i)
                if not comma:
                    break
                i = comma.end()
            close = GROUP_CLOSE.match(text, i)
            return found, close.end() if close else i
        m = SEGMENT.match(text, i)
        if not m:
            found.append(prefix)
            return found, i
        prefix = prefix + [m.group(1)]
        i = m.end()
        if text.startswith("::", i):
            i += 2
            continue
        found.append(prefix)
        return found, i


def resolve(segments: list[str], modules: set[str]) -> str | None:
    """The longest leading part of a path that is a module."""
    for k in range(len(segments), 0, -1):
        name = "::".join(segments[:k])
        if name in modules:
            return name
    return None


def graph(src: Path = SRC) -> dict[str, set[str]]:
    """module -> the modules it imports."""
    files = {m: p for p in sorted(src.rglob("*.rs")) if (m := module_of(p, src))}
    modules = set(files)
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        text = code_of(path)
        deps = edges.setdefault(name, set())
        for m in re.finditer(r"\b(crate|super)::", text):
            spelled, _ = paths_in(text, m.end())
            for segments in spelled:
                # `super` is the parent of the module (of `a::b` in a/b.rs or a/b/mod.rs: `a`).
                base = [] if m.group(1) == "crate" else name.split("::")[:-1]
                target = resolve(base + segments, modules)
                if target and target != name:
                    deps.add(target)
    return edges


def layer(module: str) -> str:
    return module.split("::")[0]


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    """Every import that runs up or across the layers, as `from -> to (rule)`."""
    found = []
    for a in sorted(edges):
        la = layer(a)
        for b in sorted(edges[a]):
            lb = layer(b)
            if la == lb:
                continue
            if la not in ALLOWED:
                found.append(f"{a} -> {b}: `{la}` is no known layer")
            elif lb not in ALLOWED[la]:
                allowed = ", ".join(sorted(ALLOWED[la])) or "nothing of the crate"
                found.append(f"{a} -> {b}: `{la}` may import only {allowed}")
    return found


def impure_names(src: Path = SRC) -> list[str]:
    found = []
    for path in sorted(src.rglob("*.rs")):
        name = module_of(path, src)
        if name is None or layer(name) not in PURE:
            continue
        for m in sorted(set(IMPURE.findall(code_of(path)))):
            found.append(f"{path.relative_to(src.parent)} names `{m}`")
    return found


def misplaced(src: Path = SRC) -> list[str]:
    found = []
    for entry in sorted(src.iterdir()):
        if entry.is_file() and entry.name not in ROOT_FILES:
            found.append(f"src/{entry.name} stands at the root: put it in the folder of its layer")
        if entry.is_dir() and entry.name != "bin" and entry.name not in ALLOWED:
            found.append(f"src/{entry.name}/ is no known layer: add it to ALLOWED with its place")
    return found


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


def plant(files: dict[str, str]) -> Path:
    """A small crate's `src/` in a temporary folder."""
    src = Path(tempfile.mkdtemp()) / "src"
    for rel, text in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return src


class ImportsRunOneWay(unittest.TestCase):
    def test_the_graph_is_read(self):
        edges = graph()
        self.assertIn("engine::ports", edges["engine::gate"])
        self.assertIn("judgement::findings", edges["engine::gate"])
        self.assertIn("engine::ports", edges["adapters::aws::ecr"])
        # `super::` inside a folder, and a `{...}` group of modules.
        self.assertIn("adapters::aws::ecr_findings", edges["adapters::aws::ecr"])
        self.assertIn("render::alert", edges["render::report_digest"])
        self.assertIn("engine::gate", edges["entry::app"])

    def test_an_upward_import_planted_in_a_crate_is_found(self):
        src = plant(
            {
                "lib.rs": "pub mod domain;\npub mod engine;\npub mod judgement;\n",
                "domain/mod.rs": "pub mod image;\n",
                "domain/image.rs": "pub struct Digest;\n",
                "engine/mod.rs": "pub mod gate;\n",
                "engine/gate.rs": "use crate::domain::image::Digest;\npub struct Gate;\n",
                "judgement/mod.rs": "pub mod judge;\n",
                "judgement/judge.rs": (
                    "use crate::domain::image::Digest;\n"
                    "use crate::{engine::{gate::Gate}};\n"
                    "// use crate::engine::gate::Gate; a comment is no import\n"
                    "#[cfg(test)]\nmod tests { use crate::engine::gate::Gate; }\n"
                ),
            }
        )
        self.assertEqual(
            upward_imports(graph(src)),
            [
                "judgement::judge -> engine::gate: "
                "`judgement` may import only domain, policy"
            ],
        )

    def test_across_and_up_are_refused_alike(self):
        edges = {
            "render::alert": {"engine::settings"},
            "engine::gate": {"adapters::aws::ecr", "judgement::findings"},
            "domain::image": {"policy::glob"},
            "entry::app": {"adapters::aws::member", "cli::check"},
        }
        self.assertEqual(
            [f.split(": ")[0] for f in upward_imports(edges)],
            [
                "domain::image -> policy::glob",
                "engine::gate -> adapters::aws::ecr",
                "entry::app -> cli::check",
                "render::alert -> engine::settings",
            ],
        )

    def test_a_cycle_would_be_found(self):
        self.assertEqual(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}), [["a", "b", "c"]])

    def test_a_pure_layer_naming_the_runtime_and_a_stray_root_file_are_found(self):
        src = plant(
            {
                "lib.rs": "",
                "stray.rs": "",
                "judgement/mod.rs": "fn f(tx: tokio::sync::oneshot::Sender<()>) {}\n",
                "things/mod.rs": "",
            }
        )
        self.assertEqual(impure_names(src), ["src/judgement/mod.rs names `tokio`"])
        self.assertEqual(len(misplaced(src)), 2, misplaced(src))

    def test_imports_run_down_the_layers(self):
        found = upward_imports(graph())
        self.assertEqual(found, [], "imports that run up or across:\n" + "\n".join(found))

    def test_pure_layers_name_no_runtime_sdk_or_network(self):
        found = impure_names()
        self.assertEqual(found, [], "\n".join(found))

    def test_the_root_of_src_holds_lib_main_and_the_layers(self):
        found = misplaced()
        self.assertEqual(found, [], "\n".join(found))

    def test_no_module_cycle(self):
        edges = graph()
        found = cycles(edges)
        detail = "; ".join(
            ", ".join(f"{a} -> {sorted(edges[a] & set(c))}" for a in c) for c in found
        )
        self.assertEqual(found, [], f"modules that import each other: {detail}")


if __name__ == "__main__":
    unittest.main()
