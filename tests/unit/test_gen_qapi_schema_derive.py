"""``tools/gen_qapi_schema.py --derive-from``: a release's QAPI table from an
older release's table and the newer release's recorded introspection."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "memdevd" / "targets" / "x86_64" / "data"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_qapi_schema", ROOT / "tools/gen_qapi_schema.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(release: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / f"qemu-{release}" / "qapi-schema.json").read_text())
    return doc


def test_deriving_a_release_from_itself_changes_nothing() -> None:
    """Every type name, integer width and unreached type survives."""
    gen = _generator()
    base = _table("10.0")
    doc = gen.derive(base, gen.recorded_introspection("10.0"))
    for section in ("types", "commands", "events"):
        assert doc[section] == base[section], section


def test_the_committed_11_1_table_is_the_derivation() -> None:
    gen = _generator()
    recorded = gen.recorded_introspection("11.1")
    doc = gen.derive(_table("10.0"), recorded)
    assert gen.check(doc, recorded) == []
    committed = _table("11.1")
    assert committed["source"] == "derived from 10.0"
    for section in ("types", "commands", "events"):
        assert doc[section] == committed[section], section


def test_unchanged_members_keep_their_width_new_ones_follow_introspection() -> None:
    """11.1 added MigrationInfo.remaining (shown as "int") beside members
    10.0 types uint32/uint64 (also shown as "int"); the derivation keeps
    those widths and types the new one "int"; a command 10.0 lacks gets
    made-up type names."""
    old = {m[0]: m[1] for m in _table("10.0")["types"]["MigrationInfo"]["members"]}
    new = {m[0]: m[1] for m in _table("11.1")["types"]["MigrationInfo"]["members"]}
    assert "remaining" not in old and new["remaining"] == "int"
    assert old["postcopy-blocktime"] == new["postcopy-blocktime"] == "uint32"
    assert new["dirty-limit-ring-full-time"] == "uint64"
    assert _table("11.1")["commands"]["query-accelerators"]["ret"] == "q_ret_query-accelerators"


def test_a_member_added_to_an_unchanged_command_is_int() -> None:
    """A synthetic 10.0 introspection with one more optional balloon argument."""
    gen = _generator()
    base = copy.deepcopy(_table("10.0"))
    recorded = copy.deepcopy(gen.recorded_introspection("10.0"))
    by_name = {e["name"]: e for e in recorded}
    arg = by_name[by_name["balloon"]["arg-type"]]
    arg["members"].append({"name": "x-new", "type": "int", "default": None})
    doc = gen.derive(base, recorded)
    name = doc["commands"]["balloon"]["arg"]
    assert doc["types"][name]["members"] == [["value", "int", False], ["x-new", "int", True]]
    assert gen.check(doc, recorded) == []
    assert doc["types"]["Memdev"] == base["types"]["Memdev"]  # uint16List kept
