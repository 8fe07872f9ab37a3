"""QOM commands: qom-list, qom-get, qom-set and type introspection.

``qom-list-types``, ``device-list-properties`` and ``qom-list-properties``
answer from QEMU's recorded type data, since memdevd models only the
memory-related types of QEMU's several hundred.
"""

from __future__ import annotations

from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, command, core, parse_args
from memdevd.qapi.qom import QomGetArgs, QomListArgs, QomSetArgs
from memdevd.qapi.schema import QAPIModel
from memdevd.qmp.errors import DEVICE_NOT_FOUND, QMPError
from memdevd.qmp.session import Session
from memdevd.releases.recorded import Recording


class QomListTypesArgs(QAPIModel):
    implements: str | None = None
    abstract: bool | None = None


class TypenameArgs(QAPIModel):
    typename: str


@command("qom-list", allow_preconfig=True)
def qom_list(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(QomListArgs, args)
    return core(rt.machine.qom_list, parsed.path)


@command("qom-get", allow_preconfig=True)
def qom_get(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(QomGetArgs, args)
    return core(rt.machine.qom_get, parsed.path, parsed.property)


@command("qom-set", allow_preconfig=True)
def qom_set(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    parsed = parse_args(QomSetArgs, args)
    core(rt.machine.qom_set, parsed.path, parsed.property, parsed.value)


@command("qom-list-types", allow_preconfig=True)
def qom_list_types(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(QomListTypesArgs, args)
    rec = rt.machine.recording
    # module_load_qom_all(): options of modules are listed from now on.
    rt.qom_modules_loaded = True
    reply = rec.list_types_reply(parsed.implements, bool(parsed.abstract))
    if reply is not None:
        return reply["return"]
    table = rec.type_table
    assert parsed.implements is not None
    if parsed.implements not in table:
        # object_class_get_list() of an unknown type: nothing matches.
        return []
    # A class (not an interface): its non-abstract descendants, itself included.
    return [
        entry
        for name, entry in table.items()
        if rec.type_is_a(name, parsed.implements) and (parsed.abstract or not entry.get("abstract"))
    ]


@command("device-list-properties", allow_preconfig=True)
def device_list_properties(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(TypenameArgs, args)
    return _recorded_reply(rt.machine.recording, "device-list-properties", parsed.typename)


@command("qom-list-properties", allow_preconfig=True)
def qom_list_properties(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(TypenameArgs, args)
    return _recorded_reply(rt.machine.recording, "qom-list-properties", parsed.typename)


def _recorded_reply(rec: Recording, query: str, typename: str) -> Any:
    reply = rec.type_reply(query, typename)
    if reply is None:
        table = rec.type_table
        if typename not in table:
            text = M.DEVICE_NOT_FOUND if query == "device-list-properties" else M.CLASS_NOT_FOUND
            raise QMPError(text.format(typename), DEVICE_NOT_FOUND)
        if query == "device-list-properties" and (
            table[typename].get("abstract") or not rec.type_is_a(typename, "device")
        ):
            raise QMPError(
                M.INVALID_PARAMETER_VALUE.format("typename", "a non-abstract device type")
            )
        raise QMPError(M.PROPERTIES_NOT_RECORDED.format(typename))
    if "error" in reply:
        raise QMPError(reply["error"]["desc"], reply["error"]["class"])
    return reply["return"]
