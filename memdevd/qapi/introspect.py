"""QEMU's QAPI introspection (query-qmp-schema), as recorded and as generated.

Reads the schema recorded from the emulated release to answer questions
memdevd must agree with QEMU on, such as the values of ``ObjectType``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from memdevd import recorded


@cache
def schema(version: str) -> dict[str, dict[str, Any]]:
    entries = recorded.load(version, "qmp-schema")["query-qmp-schema"]["reply"]["return"]
    return {e["name"]: e for e in entries}


def _member_type(obj: dict[str, Any], member: str) -> str:
    for m in obj.get("members", []):
        if m["name"] == member:
            return str(m["type"])
    raise KeyError(member)


@cache
def object_type_values(version: str) -> list[str]:
    """Values of ``ObjectType``: the ``qom-type`` tag of object-add's argument."""
    s = schema(version)
    arg_type = s["object-add"]["arg-type"]
    enum_name = _member_type(s[arg_type], "qom-type")
    return [str(v) for v in s[enum_name]["values"]]
