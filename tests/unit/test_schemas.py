"""query-qmp-schema and the generated schemas/ files.

The schema lists exactly the commands memdevd offers (query-commands'
list), QEMU's entries as recorded from the emulated release, memdevd's own
commands generated from their QAPI models; schemas/ holds what the code
generates today (``python tools/gen_schemas.py`` rewrites it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memdevd.devtools.schema_export import _registry, generated_files, qmp_schema
from memdevd.qapi.control import NoArgs
from memdevd.qapi.introspect import _references
from memdevd.qapi.memdevd_control import InjectFaultArgs
from memdevd.qapi.schema import members_of
from memdevd.releases.recorded import Recording, recording
from memdevd.releases.table import RELEASES, get_release


def x86_recording(version: str) -> Recording:
    """What was recorded from qemu-system-x86_64 for ``version``."""
    return recording("x86_64", get_release(version))


ROOT = Path(__file__).resolve().parents[2]
VERSIONS = tuple(RELEASES)


def test_committed_schemas_are_current() -> None:
    stale = [
        rel
        for rel, text in generated_files().items()
        if not (ROOT / rel).exists() or (ROOT / rel).read_text() != text
    ]
    assert stale == [], f"stale: {stale}; run python tools/gen_schemas.py"


@pytest.mark.parametrize("version", VERSIONS)
def test_schema_lists_exactly_the_offered_commands(version: str) -> None:
    schema = qmp_schema(version)
    reg = _registry(version)
    query_commands = reg.get("query-commands")
    assert query_commands is not None
    listed = {c["name"] for c in query_commands.handler(None, {})}  # type: ignore[arg-type]
    in_schema = {e["name"] for e in schema if e["meta-type"] == "command"}
    assert in_schema == listed
    assert {"device_add", "query-memory-devices", "x-memdevd-reset"} <= in_schema


@pytest.mark.parametrize("version", VERSIONS)
def test_every_reference_resolves(version: str) -> None:
    schema = qmp_schema(version)
    names = [e["name"] for e in schema]
    assert len(names) == len(set(names))
    dangling = {ref for e in schema for ref in _references(e)} - set(names)
    assert dangling == set()


@pytest.mark.parametrize("version", VERSIONS)
def test_qemu_entries_are_the_recorded_ones(version: str) -> None:
    recorded_entries = {
        e["name"]: e
        for e in x86_recording(version).load("qmp-schema")["query-qmp-schema"]["reply"]["return"]
    }
    for entry in qmp_schema(version):
        if not entry["name"].startswith("x-memdevd-") and entry["name"] in recorded_entries:
            assert entry == recorded_entries[entry["name"]]
    events = {e["name"] for e in qmp_schema(version) if e["meta-type"] == "event"}
    assert {"DEVICE_DELETED", "MEMORY_DEVICE_SIZE_CHANGE", "ACPI_DEVICE_OST"} <= events


def _entry(schema: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(e for e in schema if e["name"] == name)


def test_own_commands_follow_their_models() -> None:
    schema = qmp_schema("10.0")
    cmd = _entry(schema, "x-memdevd-inject-fault")
    assert cmd["features"] == ["unstable"] and cmd["ret-type"] == "any"
    args = _entry(schema, cmd["arg-type"])
    assert [m["name"] for m in args["members"]] == [m.name for m in members_of(InjectFaultArgs)]
    by_name = {m["name"]: m for m in args["members"]}
    assert by_name["command"] == {"name": "command", "type": "str"}
    assert by_name["count"] == {"default": None, "name": "count", "type": "int"}
    action = _entry(schema, by_name["action"]["type"])
    assert action["meta-type"] == "enum" and action["values"] == ["error", "delay", "drop"]
    reset = _entry(schema, "x-memdevd-reset")
    assert not members_of(NoArgs) and reset["arg-type"] == "0" and reset["ret-type"] == "0"


def test_controls_json_schema_describes_the_arguments() -> None:
    data = json.loads((ROOT / "schemas" / "memdevd-controls.schema.json").read_text())
    fault = data["commands"]["x-memdevd-inject-fault"]["arguments"]
    assert fault["required"] == ["command"]
    assert fault["properties"]["action"] == {"enum": ["error", "delay", "drop"], "type": "string"}
    assert fault["additionalProperties"] is False
