"""The layers import downwards only (docs/architecture.md, "Dependency rules").

Owns the rules as a table: for each part of the package, the parts it may
import (every import counts: at module level, inside functions, and under
``TYPE_CHECKING``).  Bottom to top: the shared modules (messages, records),
util (QEMU's syntax and number parsing), releases, qapi, qmp (protocol
only), machine (the target-independent core), targets, commands (the
binding layer), app (the process) and devtools.  The core never imports a
target, qmp knows nothing of memory devices, and the core takes only
util.cutils (number and identifier parsing) and util.sockets (host
sockets, shared with qmp) from util, none of the command-line layer's
error or syntax types.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "memdevd"

SHARED = ("memdevd.messages", "memdevd.records", "memdevd.__init__")
NUMBERS = ("memdevd.util.cutils", "memdevd.util.option_defs")
# Host sockets as qemu-sockets.c connects them: no syntax, no error texts.
HOST = ("memdevd.util.sockets",)

#: part -> the module prefixes it may import (besides its own part).
ALLOWED: dict[str, tuple[str, ...]] = {
    "memdevd.messages": (),
    "memdevd.records": (),
    "memdevd.util": SHARED,
    "memdevd.releases": SHARED,
    "memdevd.qapi": (*SHARED, *NUMBERS, "memdevd.releases"),
    "memdevd.qmp": (*SHARED, *HOST, "memdevd.qapi"),
    "memdevd.machine": (*SHARED, *NUMBERS, *HOST, "memdevd.qapi", "memdevd.releases"),
    "memdevd.targets": (
        *SHARED,
        "memdevd.util",
        "memdevd.qapi",
        "memdevd.releases",
        "memdevd.machine",
    ),
    "memdevd.commands": (
        *SHARED,
        "memdevd.util",
        "memdevd.qapi",
        "memdevd.qmp",
        "memdevd.releases",
        "memdevd.machine",
        "memdevd.targets",
    ),
    # The process and the developer tools sit on top of everything.
    "memdevd.app": ("memdevd",),
    "memdevd.devtools": ("memdevd",),
    "memdevd.testing": ("memdevd",),
    "memdevd.__main__": ("memdevd.app",),
}


def _part(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _imports(path: Path, module: str) -> list[str]:
    """Every memdevd module ``path`` imports (``from memdevd.x import y``
    counts as memdevd.x.y too, which may be a module)."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found += [f"{base}.{a.name}" for a in node.names]
    return [name for name in found if name == "memdevd" or name.startswith("memdevd.")]


def _modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        out.append((path, module))
    return out


def _allowed(importer: str, imported: str) -> bool:
    own = _part(importer)
    if imported == "memdevd.__version__" or _part(imported) == own:
        return True
    rules = ALLOWED.get(own)
    if rules is None:
        return False
    return any(imported == p or imported.startswith(p + ".") for p in rules)


def test_every_part_has_rules() -> None:
    parts = {_part(module) for _, module in _modules()} - {"memdevd"}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)


def test_imports_follow_the_layers() -> None:
    breaks = []
    for path, module in _modules():
        for imported in _imports(path, module):
            if not _allowed(module, imported):
                breaks.append(f"{module} imports {imported}")
    assert breaks == [], "\n".join(breaks)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("memdevd.machine.machine", "memdevd.targets.x86_64.board"),
        ("memdevd.machine.smp", "memdevd.util.qemu_opts"),
        ("memdevd.qmp.session", "memdevd.app.logsetup"),
        ("memdevd.qapi.object_options", "memdevd.commands.memory"),
        ("memdevd.util.qemu_opts", "memdevd.qmp.framing"),
        ("memdevd.qapi.schema", "memdevd.qmp.framing"),
    ],
)
def test_the_rules_refuse_the_breaks_they_exist_for(importer: str, imported: str) -> None:
    assert not _allowed(importer, imported)


def _doc_rules() -> dict[str, set[str]]:
    """docs/architecture.md's "Dependency rules" table: part -> what it may import."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Dependency rules", 1)[1].split("\n## ", 1)[0]
    rules: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("part", "---"):
            continue
        names = {c.strip(" `") for c in cells[1].split(",")}
        allowed = (
            {"memdevd"}
            if names == {"anything"}
            else set()
            if names == {"nothing of memdevd"}
            else {f"memdevd.{n}" for n in names}
        )
        for part in cells[0].split(","):
            rules[f"memdevd.{part.strip(' `')}"] = allowed
    return rules


def test_the_architecture_doc_states_these_rules() -> None:
    """The table in docs/architecture.md is this table, in words."""
    expected = {
        part: {p for p in allowed if p != "memdevd.__init__"}
        for part, allowed in ALLOWED.items()
        if part != "memdevd.__main__"
    }
    assert _doc_rules() == expected
