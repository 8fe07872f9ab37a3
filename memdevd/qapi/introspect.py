"""QEMU's QAPI introspection (query-qmp-schema), as recorded and as generated.

Reads the schema recorded from the emulated release to answer questions
memdevd must agree with QEMU on, such as the values of ``ObjectType``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memdevd.releases.recorded import Recording


@cache
def schema(rec: Recording) -> dict[str, dict[str, Any]]:
    """The recorded schema's entries by name."""
    return {e["name"]: e for e in rec.qmp_schema}


def _member_type(obj: dict[str, Any], member: str) -> str:
    for m in obj.get("members", []):
        if m["name"] == member:
            return str(m["type"])
    raise KeyError(member)


@cache
def object_type_values(rec: Recording) -> list[str]:
    """Values of ``ObjectType``: the ``qom-type`` tag of object-add's argument."""
    s = schema(rec)
    arg_type = s["object-add"]["arg-type"]
    enum_name = _member_type(s[arg_type], "qom-type")
    return [str(v) for v in s[enum_name]["values"]]


@cache
def argument_enum(rec: Recording, command: str, *path: str) -> list[str]:
    """Values of the enum at ``path`` in a command's arguments.

    Each path element names a member; arrays are stepped through to their
    element type.  Used where the values differ between releases
    (``MigrationCapability``, ``StatsTarget``...), so they come from the
    emulated release's own schema.
    """
    s = schema(rec)
    entry = s[s[command]["arg-type"]]
    for member in path:
        entry = s[_member_type(entry, member)]
        while entry.get("meta-type") == "array":
            entry = s[entry["element-type"]]
    return [str(v) for v in entry["values"]]


# --- memdevd's own query-qmp-schema --------------------------------------------------


def _references(entry: dict[str, Any]) -> list[str]:
    """The type names an introspection entry refers to."""
    refs: list[str] = []
    for key in ("arg-type", "ret-type", "element-type"):
        if key in entry:
            refs.append(str(entry[key]))
    for member in entry.get("members", []):
        if "type" in member:
            refs.append(str(member["type"]))
    for variant in entry.get("variants", []):
        refs.append(str(variant["type"]))
    return refs


_INTEGER_TYPES = frozenset(
    {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "size"}
)


class _Generator:
    """Introspection entries for memdevd's own commands, from their QAPI models.

    Type names are masked as QEMU masks them (numbers), continuing after the
    recorded schema's, so they never collide with QEMU's.
    """

    def __init__(self, taken: set[str]) -> None:
        numbers = [int(n) for n in taken if n.isdigit()]
        self._next = max(numbers, default=-1) + 1
        self.entries: list[dict[str, Any]] = []
        self._named: dict[Any, str] = {}

    def _name(self) -> str:
        name = str(self._next)
        self._next += 1
        return name

    def type_of(self, hint: Any) -> str:
        from typing import Literal, get_args, get_origin

        from memdevd.qapi.schema import QAPIModel, qapi_type_name

        origin = get_origin(hint)
        if origin is Literal:
            values = [str(v) for v in get_args(hint)]
            key = ("enum", tuple(values))
            if key not in self._named:
                name = self._named[key] = self._name()
                self.entries.append(
                    {
                        "members": [{"name": v} for v in values],
                        "meta-type": "enum",
                        "name": name,
                        "values": values,
                    }
                )
            return self._named[key]
        if origin is list:
            (elem,) = get_args(hint)
            elem_name = self.type_of(elem)
            name = f"[{elem_name}]"
            if name not in self._named.values():
                self._named[("array", elem_name)] = name
                self.entries.append({"element-type": elem_name, "meta-type": "array", "name": name})
            return name
        if isinstance(hint, type) and issubclass(hint, QAPIModel):
            return self.object_of(hint)
        name = qapi_type_name(hint)
        # Introspection has one integer builtin: sized ints and size are "int".
        return "int" if name in _INTEGER_TYPES else name

    def object_of(self, model: Any) -> str:
        from memdevd.qapi.schema import members_of

        if not members_of(model):
            return "0"
        if model in self._named:
            return self._named[model]
        name = self._named[model] = self._name()
        members = []
        for m in members_of(model):
            member: dict[str, Any] = {}
            if m.optional:
                member["default"] = None
            member["name"] = m.name
            member["type"] = self.type_of(m.qtype)
            members.append(member)
        self.entries.append({"members": members, "meta-type": "object", "name": name})
        return name


def build_schema(
    rec: Recording,
    commands: list[str],
    own: dict[str, tuple[Any, Any]],
) -> list[dict[str, Any]]:
    """``query-qmp-schema`` for a daemon offering ``commands``.

    QEMU's commands keep the entries recorded from the emulated release
    (with every type they reach, masked names included); all of QEMU's
    events are kept, since they are not commands.  ``own`` maps memdevd's
    commands to ``(argument model, return model or None)``: their entries
    are generated, marked ``unstable`` as QEMU marks its ``x-`` commands.
    A command that is not offered is never listed.
    """
    entries = rec.qmp_schema
    by_name = {e["name"]: e for e in entries}
    offered = set(commands)
    keep: set[str] = set()
    stack = [
        e["name"]
        for e in entries
        if (e["meta-type"] == "command" and e["name"] in offered)
        or e["meta-type"] in ("event", "builtin")
    ]
    while stack:
        name = stack.pop()
        if name in keep or name not in by_name:
            continue
        keep.add(name)
        stack.extend(_references(by_name[name]))
    out = [e for e in entries if e["name"] in keep]
    gen = _Generator(set(by_name))
    own_commands = []
    for name in commands:
        if name in by_name or name not in own:
            continue
        arg_model, ret_model = own[name]
        command: dict[str, Any] = {
            "arg-type": gen.object_of(arg_model),
            "features": ["unstable"],
            "meta-type": "command",
            "name": name,
            "ret-type": gen.type_of(ret_model) if ret_model is not None else "0",
        }
        own_commands.append(command)
    return out + own_commands + gen.entries
