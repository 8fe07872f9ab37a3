"""Releases are data: one table, and no version comparisons anywhere else.

Owns the rule of memdevd/releases/: what differs between the emulated QEMU
releases is a named field of the release table (each row the previous one
plus its changes), and what a versioned machine type keeps of its release
is a compat table resolved in releases/machine_compat.py.  No other module
of the package compares release numbers or machine-type versions; this
test reads every module's syntax tree and fails where one does.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
from pathlib import Path

import pytest

from memdevd.releases.machine_compat import compat_props, machine_version, types_of_release
from memdevd.releases.table import QEMU_7_2, QEMU_8_2, QEMU_10_0, QEMU_11_1, RECORDINGS, RELEASES

PACKAGE = Path(__file__).resolve().parents[2] / "memdevd"

_VERSION_TEXT = re.compile(r"^\d+\.\d+(\.\d+)?$")
# Names that hold a release's or a machine type's version.
_VERSION_NAMES = {"version", "type_version", "machine_version", "major", "minor", "micro"}
_VERSION_NAMES |= {"recorded_as", "source_tables_as"}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)


def _versionish(node: ast.expr, op: ast.cmpop) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_VERSION_TEXT.match(node.value))
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        ints = [e for e in node.elts if isinstance(e, ast.Constant) and type(e.value) is int]
        if isinstance(op, _ORDERING) and len(ints) == len(node.elts) in (2, 3):
            return True  # (6, 2): a machine-type version
        return any(_versionish(e, op) for e in node.elts)
    if isinstance(node, ast.Attribute):
        return node.attr in _VERSION_NAMES
    if isinstance(node, ast.Name):
        return node.id in _VERSION_NAMES
    return False


def version_comparisons(source: str) -> list[str]:
    """Every comparison in ``source`` that involves a release or machine-type version."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
            continue  # "version is None": whether there is one, not which
        operands = [node.left, *node.comparators]
        if any(_versionish(o, op) for o in operands for op in node.ops):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    "source",
    [
        'if release.version == "7.2": pass',
        'x = MEMBERS["7.2" if version == "7.2" else "10.0"]',
        "if machine.release.major >= 9: pass",
        "if mtype.version > (2, 1): pass",
        "old = type_version < (6, 2)",
        'return version in ("7.2", "8.2")',
        "if release.recorded_as != release.version: pass",
    ],
)
def test_the_check_finds_version_comparisons(source: str) -> None:
    assert version_comparisons(source), source


@pytest.mark.parametrize(
    "source",
    [
        "if c in (92, 10): pass",
        "if release.strict_device_add: pass",
        "if version is None: pass",
        "table = MEMBERS[release.recorded_as]",
    ],
)
def test_the_check_leaves_other_code_alone(source: str) -> None:
    assert not version_comparisons(source), source


def test_no_version_comparison_outside_the_releases_package() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] == "releases":
            continue
        rel = path.relative_to(PACKAGE.parent)
        offenders += [f"{rel}:{line}" for line in version_comparisons(path.read_text())]
    assert offenders == [], "ask the release table instead:\n" + "\n".join(offenders)


def test_each_row_is_the_previous_one_plus_its_changes() -> None:
    """8.2, 10.0 and 11.1 differ from their predecessor only where QEMU changed,
    and every field is set in 7.2's row (none is left to a default)."""
    rows = [QEMU_7_2, QEMU_8_2, QEMU_10_0, QEMU_11_1]
    assert list(RELEASES.values()) == rows
    for field in dataclasses.fields(QEMU_7_2):
        assert field.default is dataclasses.MISSING, field.name
    identity = {"version", "major", "minor", "micro", "reference_package", "copyright_year"}
    identity |= {"recorded_as", "source_tables_as"}
    changed = {
        (older.version, newer.version): {
            f.name
            for f in dataclasses.fields(newer)
            if getattr(older, f.name) != getattr(newer, f.name)
        }
        - identity
        for older, newer in itertools.pairwise(rows)
    }
    assert all(changed.values()), changed


def test_recorded_releases() -> None:
    assert RECORDINGS == ("7.2", "10.0", "11.1")
    assert [r.recorded_as for r in RELEASES.values()] == ["7.2", "10.0", "10.0", "11.1"]
    assert not QEMU_8_2.is_recorded and QEMU_10_0.is_recorded and QEMU_11_1.is_recorded
    # 11.1's source is not at hand: its command-line tables are 10.0's.
    assert [r.source_tables_as for r in RELEASES.values()] == ["7.2", "10.0", "10.0", "10.0"]


def test_machine_type_versions() -> None:
    assert machine_version("pc-q35-7.1") == (7, 1)
    assert machine_version("pc-i440fx-2.0") == (2, 0)
    assert machine_version("virt-9.2") == (9, 2)
    assert machine_version("pc") is None and machine_version("none") is None
    names = ["pc-q35-8.1", "pc-q35-8.2", "pc-q35-9.0", "microvm", "pc-i440fx-10.0"]
    assert types_of_release(QEMU_8_2, names) == ["pc-q35-8.1", "pc-q35-8.2", "microvm"]


def test_compat_props_older_entries_win() -> None:
    """A type X.Y gets every entry of X.Y and later; an older release's entry
    overrides a newer one's for the same property (pc_compat_6_2 "off" over
    pc_compat_8_0 "auto"), as QEMU's machine-options functions chain."""
    table = {(8, 0): {"p": "auto"}, (6, 2): {"p": "off", "q": 1}}
    assert compat_props(table, (8, 1)) == {}
    assert compat_props(table, (8, 0)) == {"p": "auto"}
    assert compat_props(table, (7, 2)) == {"p": "auto"}
    assert compat_props(table, (6, 2)) == {"p": "off", "q": 1}
    assert compat_props(table, None) == {}


def test_docs_name_every_field() -> None:
    """docs/versions.md is the readable form of the table: every field is in it."""
    docs = (PACKAGE.parent / "docs" / "versions.md").read_text(encoding="utf-8")
    # The identity fields the table does not repeat.
    unnamed = {"version", "copyright_year"}
    fields = [f.name for f in dataclasses.fields(QEMU_7_2) if f.name not in unnamed]
    assert [name for name in fields if f"`{name}`" not in docs] == []


def test_compat_props_of_a_release_only_its_own_entries() -> None:
    """With ``release``, a table holding properties newer releases added
    gives a type only the entries of releases before the emulated one."""
    table = {(9, 0): {"new": 1}, (6, 1): {"old": 2}}
    assert compat_props(table, (6, 0), release=QEMU_7_2) == {"old": 2}
    assert compat_props(table, (6, 0), release=QEMU_10_0) == {"new": 1, "old": 2}
