"""The release schemas generated from QEMU's source agree with the binaries.

``tools/gen_qapi_schema.py`` writes each recorded release's schema from its
``qapi/*.json``; the binary's own introspection (recorded in
``qmp-schema.json``) must show the same commands, events, argument members
and enum values, or a condition was decided wrong.  The visitor and the
reply shaping built on the schema are checked here too.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from memdevd.qapi.source_schema import SourceSchema, shape, visit
from memdevd.qapi.visitor import InputVisitor, VisitError
from memdevd.releases.recorded import recording
from memdevd.releases.table import RECORDINGS, get_release

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_qapi_schema", ROOT / "tools/gen_qapi_schema.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("release", RECORDINGS)
def test_schema_matches_the_recorded_introspection(release: str) -> None:
    gen = _generator()
    rec = recording("x86_64", get_release(release))
    doc = rec.load("qapi-schema")
    assert gen.check(doc, gen.recorded_introspection(release)) == []


AARCH64_DATA = ROOT / "memdevd" / "targets" / "aarch64" / "data"


@pytest.mark.parametrize("release", RECORDINGS)
def test_aarch64_schema_matches_the_recorded_introspection(release: str) -> None:
    """qemu-system-aarch64's schema (gen_qapi_schema.py --target aarch64):
    the ARM-only command is in, the x86-only ones are out."""
    data = AARCH64_DATA / f"qemu-{release}"
    if not (data / "qapi-schema.json").exists():
        pytest.skip(f"no aarch64 schema of {release}")
    gen = _generator()
    doc = json.loads((data / "qapi-schema.json").read_text(encoding="utf-8"))
    assert gen.check(doc, gen.recorded_introspection(release, AARCH64_DATA)) == []
    assert doc["defined"]["TARGET_ARM"] is True
    assert doc["defined"]["TARGET_I386"] is False
    assert "query-gic-capabilities" in doc["commands"]
    # 11.1 builds every target's commands into every binary (query-sgx on
    # aarch64: "SGX support is not compiled in"); before, the x86 ones are out.
    x86_only = {"query-sgx", "rtc-reset-reinjection"} & set(doc["commands"])
    assert x86_only == (set() if release in ("7.2", "10.0") else x86_only)


def _schema(release: str = "10.0") -> SourceSchema:
    return SourceSchema(recording("x86_64", get_release(release)).load("qapi-schema"))


def _visit(type_name: str, value: Any, *, keyval: bool = False) -> Any:
    return visit(_schema(), InputVisitor(value, keyval=keyval), None, type_name)


def test_flat_union_visits_the_branch_the_tag_selects() -> None:
    out = _visit("BlockdevOptions", {"driver": "null-co", "node-name": "n", "size": 4096})
    assert out == {"driver": "null-co", "node-name": "n", "size": 4096}
    with pytest.raises(VisitError) as err:
        _visit("BlockdevOptions", {"driver": "null-co", "size": "big"})
    assert err.value.desc == "Invalid parameter type for 'size', expected: integer"
    with pytest.raises(VisitError) as err:
        _visit("BlockdevOptions", {"driver": "file", "filename": "/x", "nope": 1})
    assert err.value.desc == "Parameter 'nope' is unexpected"


def test_alternates_pick_by_json_type() -> None:
    ref = {"driver": "raw", "node-name": "r", "file": "f0"}
    assert _visit("BlockdevOptions", ref)["file"] == "f0"
    inline = {"driver": "raw", "node-name": "r", "file": {"driver": "null-co"}}
    assert _visit("BlockdevOptions", inline)["file"] == {"driver": "null-co"}
    with pytest.raises(VisitError) as err:
        _visit("BlockdevOptions", {"driver": "raw", "file": 3})
    assert err.value.desc == "Invalid parameter type for 'file', expected: BlockdevRef"


def test_sized_integers_are_range_checked_by_keyval() -> None:
    # keyval (-blockdev key=value): strings, converted and range-checked.
    out = _visit("BlockdevOptions", {"driver": "null-co", "size": "4096"}, keyval=True)
    assert out["size"] == 4096


def test_shape_keeps_what_the_release_declares() -> None:
    value = {
        "image": {
            "filename": "f",
            "format": "file",
            "virtual-size": 0,
            "format-specific": {"type": "file", "data": {}},
        },
        "active": True,
        "file": "f",
        "node-name": "n",
        "ro": False,
        "drv": "file",
    }
    old = shape(_schema("7.2"), "BlockDeviceInfo", value)
    new = shape(_schema("10.0"), "BlockDeviceInfo", value)
    # 7.2 has neither "active" nor a "file" format-specific kind.
    assert "active" not in old and "format-specific" not in old["image"]
    assert new["active"] is True and new["image"]["format-specific"]["type"] == "file"
    # Members come in the order the release declares them.
    declared = [m for m, _, _ in _schema("10.0").members("BlockDeviceInfo")]
    assert list(new) == [m for m in declared if m in new]
    assert list(new) != list(value)
