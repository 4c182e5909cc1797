"""Every reference in the repository resolves inside it.

Over every file git tracks (text only; nothing under target/, .venv*/ or .git):

(a) a relative Markdown link or image, `[text](path)` or `![alt](path#anchor)`, names a file or
    directory that exists (and, for a Markdown file with an anchor, a heading of that file);
(b) a file path mentioned in prose, backticks, comments or code that starts with one of the
    repository's top-level directories (`scripts/x.sh`, `docs/y.md`, `src/z.rs`,
    `events/....json`, `.github/workflows/...`) exists, relative to the repository root or to
    the mentioning file's directory;
(c) no file points at documents that are not in the repository: the original Japanese design,
    the product specification or the field notes it was written from (their names are in
    OUTSIDE below), or the directory they lived in;
(d) a test named as `<file>::<test>` (a Rust integration test: `<file>` is tests/<file>.rs) is a
    function of that file; `<test>…` or `<test>*` stands for the tests whose names start so, and
    at least one must.

URLs, globs (`src/adapters/aws/*.rs`), placeholders (`events/<name>.json`, `$VAR/...`) and elisions
(`events/...`) are not references. Failures are listed as file:line, grouped by who owns the
files: the Rust sources, infra/, and everything else.

Run by `make test-docs` (part of `make test`); needs only Python 3."""

import re
import subprocess
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()

# (c): what must not be referred to. Written with escapes so that this file does not match.
OUTSIDE = [
    (re.compile(r"ecr-design\.ja\.md"), "the original design is not in the repository: link docs/design.md"),
    (re.compile(r"\bNOTES\.md\b"), "the field notes are not in the repository: say the fact, or link docs/"),
    (re.compile(r"\bSPEC\.md\b"), "the specification is not in the repository: link docs/ (reference.md, design.md)"),
    (re.compile(r"\bSPEC\s+(?:section|§)", re.IGNORECASE),
     "the specification is not in the repository: link docs/reference.md (contract: #configuration, #the-policy, #the-response)"),
    (re.compile(r"\.\./shared\b"), "outside the repository"),
    (re.compile(r"\bdesign/samples\b"), "outside the repository: the samples are in events/aws-docs/ and tests/fixtures/"),
]

SKIP_PREFIXES = ("target/", ".git/")
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s)\]>'\"`]+", re.IGNORECASE)
MD_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MD_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)")


def tracked_names():
    """Every tracked file, text or binary (a zip fixture is a path a text may name)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        names = [n for n in out.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()]
    return [n for n in names if (ROOT / n).is_file()]


def tracked_files():
    for name in sorted(tracked_names()):
        if name.startswith(SKIP_PREFIXES) or name.startswith(".venv") or "/.venv" in name:
            continue
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        yield name, data.decode("utf-8", "replace")


def top_level_dirs(names):
    return {name.split("/", 1)[0] for name in names if "/" in name}


def all_paths(names):
    """Every tracked file and every directory that holds one."""
    paths = set()
    for name in names:
        parts = name.split("/")
        for i in range(1, len(parts) + 1):
            paths.add("/".join(parts[:i]))
    return paths


def git_ignored(paths):
    """The paths .gitignore covers: files a user or a build makes (terraform.tfvars, dist/...)."""
    if not paths:
        return set()
    try:
        out = subprocess.run(["git", "check-ignore", "--stdin"], cwd=ROOT, input="\n".join(paths) + "\n",
                             capture_output=True, text=True).stdout
    except OSError:
        return set()
    return set(out.split())


def owner(name: str) -> str:
    if name.endswith(".rs") or name in ("Cargo.toml", "Cargo.lock"):
        return "rust"
    if name.startswith("infra/"):
        return "infra"
    return "other"


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"`|\*|_(?=\W)|(?<=\W)_", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path):
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,6}\s", line):
            base, n = slug(re.sub(r"^#{1,6}\s+", "", line)), 0
            anchor = base
            while anchor in found:
                n += 1
                anchor = f"{base}-{n}"
            found.add(anchor)
    return found


def resolves(target: str, base: Path) -> bool:
    """target names an existing file or directory, relative to base or to the root."""
    for start in (base, ROOT):
        candidate = (start / target).resolve()
        try:
            candidate.relative_to(ROOT)
        except ValueError:
            continue  # outside the repository does not count
        if candidate.exists():
            return True
    return False


def check_markdown_links(name, text):
    """(a) relative links and images of a Markdown file."""
    base = (ROOT / name).parent
    fenced = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        targets = [m.group(1) for m in MD_LINK.finditer(line)]
        ref = MD_REF_DEF.match(line)
        if ref:
            targets.append(ref.group(1))
        for target in targets:
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("//"):
                continue  # a URL, mailto:, ...
            path, _, fragment = target.partition("#")
            path = path.split("?", 1)[0]
            if not path:
                own = anchors(ROOT / name)
                if fragment and fragment not in own:
                    yield lineno, f"link to #{fragment}: no such heading in this file"
                continue
            if not resolves(path, base):
                yield lineno, f"link to {target}: no such file or directory in the repository"
                continue
            file = (base / path).resolve()
            if fragment and file.is_file() and file.suffix == ".md" and fragment not in anchors(file):
                yield lineno, f"link to {target}: {path} has no heading #{fragment}"


def path_pattern(dirs):
    names = "|".join(re.escape(d) for d in sorted(dirs, key=len, reverse=True))
    # A path starts at a word boundary (optionally ../ or a leading / after a quote or bracket)
    # with a top-level directory of the repository.
    return re.compile(r"(?<![\w.$/{}-])((?:\.\./)+|/)?((?:" + names + r")/[\w./*?<>{}\[\]$…-]*)")


def check_paths(name, text, pattern, known):
    """(b) paths of the repository mentioned anywhere in a file. A path also counts when a
    tracked path ends with it (`examples/design-single-repo/main.tf` said of infra/)."""
    base = (ROOT / name).parent
    for lineno, line in enumerate(text.splitlines(), 1):
        line = URL.sub(" ", line)
        for m in pattern.finditer(line):
            prefix, path = m.group(1) or "", m.group(2)
            path = path.rstrip(".,:;")
            if re.search(r"[*?<>{}\[\]$…]|\.\.\.", path):
                continue  # a glob, a placeholder or an elision
            target = prefix + path if prefix.startswith("..") else path
            bare = path.rstrip("/")
            if bare in known or any(k.endswith("/" + bare) for k in known):
                continue
            if not resolves(target, base):
                yield lineno, f"mentions {prefix}{path}: no such file or directory in the repository"


def check_outside(name, text):
    """(c) documents outside the repository."""
    for lineno, line in enumerate(text.splitlines(), 1):
        for rx, why in OUTSIDE:
            m = rx.search(line)
            if m:
                yield lineno, f"mentions {m.group(0)!r}: {why}"


# (d): `file::test`, `file::prefix…` or `file::prefix_*` in backticks.
TEST_REF = re.compile(r"`([a-z][a-z0-9_]*)::([a-z][a-z0-9_]*)(…|\*)?`")
TEST_FN = re.compile(r"\bfn ([a-z][a-z0-9_]*)\s*[<(]")


def test_functions():
    """The functions of each integration test file, by the file's stem (its crate's name)."""
    return {p.stem: set(TEST_FN.findall(p.read_text(encoding="utf-8"))) for p in (ROOT / "tests").glob("*.rs")}


def check_test_names(name, text, functions):
    """(d) a named integration test exists."""
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in TEST_REF.finditer(line):
            crate, test, elided = m.groups()
            if crate not in functions:
                continue  # a module path (`app::handle`), not a test file
            if elided:
                if not any(f.startswith(test) for f in functions[crate]):
                    yield lineno, f"names tests {crate}::{test}{elided}: no test of tests/{crate}.rs starts so"
            elif test not in functions[crate]:
                yield lineno, f"names the test {crate}::{test}: tests/{crate}.rs has no such function"


def collect():
    files = [(n, t) for n, t in tracked_files() if n != SELF]
    functions = test_functions()
    names = [n for n, _ in files]
    pattern = path_pattern(top_level_dirs(names))
    known = all_paths(tracked_names())
    found = []
    for name, text in files:
        found += [(name, line, msg, None) for line, msg in check_outside(name, text)]
        found += [(name, line, msg, None) for line, msg in check_test_names(name, text, functions)]
        if name.endswith(".md"):
            found += [(name, line, msg, None) for line, msg in check_markdown_links(name, text)]
        if not name.endswith((".json", ".lock")):
            for line, msg in check_paths(name, text, pattern, known):
                found.append((name, line, msg, msg.split()[1].rstrip(":").lstrip("/")))
    ignored = git_ignored(sorted({p for *_, p in found if p}))
    hits = {"rust": [], "infra": [], "other": []}
    for name, line, msg, path in sorted(set(found)):
        if path and (path in ignored or path.rstrip("/") in ignored):
            continue
        hits[owner(name)].append(f"{name}:{line}: {msg}")
    return hits


class EveryReferenceResolves(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.hits = collect()

    def check(self, group, who):
        hits = self.hits[group]
        if hits:
            self.fail(f"{len(hits)} reference(s) that do not resolve inside the repository, in {who}:\n  "
                      + "\n  ".join(hits))

    def test_documentation_scripts_and_workflows(self):
        self.check("other", "the documentation, scripts, workflows and other non-Rust files")

    def test_infra(self):
        self.check("infra", "infra/ (Terraform and its README)")

    def test_rust_sources(self):
        self.check("rust", "the Rust sources (.rs, Cargo.toml)")


class TheCheckerItself(unittest.TestCase):
    """What counts as a reference, on made-up text."""

    def setUp(self):
        names = ["scripts/demo.py", "docs/design.md", "infra/examples/design-single-repo/main.tf", "README.md"]
        self.pattern = path_pattern(top_level_dirs(names))
        self.known = all_paths(names)

    def paths(self, text):
        return [m for _, m in check_paths("README.md", text, self.pattern, self.known)]

    def test_paths(self):
        self.assertEqual(self.paths("run `scripts/demo.py`, see docs/design.md."), [])
        self.assertEqual(len(self.paths("run scripts/gone.sh")), 1)
        self.assertEqual(len(self.paths('concat!(env!("CARGO_MANIFEST_DIR"), "/docs/gone.md")')), 1)
        self.assertEqual(self.paths("examples/design-single-repo/main.tf, said of infra/"), [])
        for fine in ("scripts/*.py", "docs/<name>.md", "$ROOT/scripts/x.sh", "scripts/…", "docs/...",
                     "https://github.com/o/r/blob/main/scripts/gone.sh", "target/lambda/x", "a/scripts/gone"):
            self.assertEqual(self.paths(fine), [], fine)

    def test_links(self):
        def links(text):
            return [m for _, m in check_markdown_links("README.md", text)]
        self.assertEqual(links("[d](docs/design.md) [u](https://x.y/z) ![i](docs/) `[c](gone)`"), [])
        self.assertEqual(len(links("[a](#no-such-heading-here)")), 1)
        self.assertEqual(len(links("[g](docs/gone.md)")), 1)
        self.assertEqual(len(links("![g](docs/gone.png)")), 1)
        self.assertEqual(len(links("[g](docs/design.md#no-such-heading)")), 1)
        self.assertEqual(links("[g](docs/design.md#part-1--the-design)"), [])
        self.assertEqual(links("```\n[g](docs/gone.md)\n```"), [])

    def test_test_names(self):
        functions = {"sweep": {"a_burst_is_quarantined", "an_inline_sweep_judges"}}

        def names(text):
            return [m for _, m in check_test_names("x", text, functions)]
        fine = "`sweep::a_burst_is_quarantined` `sweep::an_inline_…` `sweep::a_burst_*` `app::handle` `engine::gone`"
        self.assertEqual(names(fine), [])
        self.assertEqual(len(names("`sweep::a_burst_is_lost`")), 1)
        self.assertEqual(len(names("`sweep::a_queue_…`")), 1)
        self.assertEqual(len(names("`sweep::a_queue_*`")), 1)

    def test_outside(self):
        bad = ["ecr-design" + ".ja.md", "NOTES" + ".md", "SPEC" + ".md", "SPEC" + " section 9", "../" + "shared/x"]
        for text in bad:
            self.assertEqual(len(list(check_outside("x", text))), 1, text)
        self.assertEqual(list(check_outside("x", "docs/design.md, the spec of SNS, NOTES")), [])


if __name__ == "__main__":
    unittest.main()
