"""The generated files: ``schemas/`` (what memdevd offers over QMP), the table
``-object`` is parsed with (``memdevd/qapi/object_members.py``) and the
command index (``memdevd/commands/index.py``, :mod:`.command_index`).

``schemas/qmp-schema-VERSION.json`` is what ``query-qmp-schema`` answers for
each emulated release; ``schemas/memdevd-controls.schema.json`` is the JSON
Schema of the ``x-memdevd-`` commands' arguments, from their QAPI models,
for clients written in other languages.  ``tools/gen_schemas.py`` writes
them; a test fails when the committed files differ from what this module
generates, so they cannot go stale.
"""

from __future__ import annotations

import json
import os
from typing import Any

from memdevd.releases.table import RELEASES


def _registry(version: str) -> Any:
    """The command registry of a daemon built from a bare command line."""
    from memdevd.app import cli

    daemon, _ = cli.build_daemon(
        cli.parse(["-memdevd", f"version={version}"], "memdevd"), "memdevd"
    )
    return daemon.registry


def qmp_schema(version: str) -> list[dict[str, Any]]:
    reg = _registry(version)
    cmd = reg.get("query-qmp-schema")
    assert cmd is not None
    result: list[dict[str, Any]] = cmd.handler(None, {})
    return result


def controls_json_schema() -> dict[str, Any]:
    reg = _registry(next(iter(RELEASES)))
    commands: dict[str, Any] = {}
    for cmd in reg:
        if "qapi" not in cmd.extra:
            continue
        model = cmd.extra["qapi"][0]
        schema = model.model_json_schema(by_alias=True)
        schema.pop("title", None)
        schema["additionalProperties"] = False
        for prop in schema.get("properties", {}).values():
            _absent_not_null(prop)
        commands[cmd.name] = {"arguments": schema}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "memdevd's own QMP commands (x-memdevd-*): their arguments",
        "commands": commands,
    }


def _absent_not_null(prop: dict[str, Any]) -> None:
    """An optional QAPI member is absent, never null: QEMU rejects null."""
    prop.pop("title", None)
    if prop.get("default", 0) is None:
        del prop["default"]
    options = prop.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            del prop["anyOf"]
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True) + "\n"


def generated_files() -> dict[str, str]:
    """Path under the project root -> content."""
    from memdevd.devtools.command_index import INDEX_PATH, generated_index

    # The schemas list the commands the committed index names: tools/gen_schemas.py
    # writes the index (and reloads it) first.
    files = {INDEX_PATH: generated_index()}
    files.update({f"schemas/qmp-schema-{v}.json": _dump(qmp_schema(v)) for v in RELEASES})
    files["schemas/memdevd-controls.schema.json"] = _dump(controls_json_schema())
    from memdevd.qapi.object_options import generated_module

    files["memdevd/qapi/object_members.py"] = generated_module()
    from memdevd.releases.recorded import recording
    from memdevd.releases.table import RECORDINGS, get_release

    for target in ("x86_64", "aarch64"):
        for recorded_as in RECORDINGS:
            rec = recording(target, get_release(recorded_as))
            if os.path.exists(rec.path("instances")):
                rel, text = rec.samples_file()
                files[rel] = text
            if os.path.exists(rec.path("queries")):
                rel, text = rec.index_file()
                files[rel] = text
    return files
