"""Memory commands: backends, devices and the memory queries.

``object-add``/``object-del``, ``device_add``/``device_del``,
``query-memory-devices``, ``query-memory-size-summary``, ``query-memdev``,
``query-acpi-ospm-status``, ``set-numa-node``, the SGX EPC queries (``query-sgx``,
``query-sgx-capabilities``) and, in releases that have hv-balloon,
``query-hv-balloon-status-report``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, command, core, no_args, parse_args
from memdevd.qapi import object_options
from memdevd.qapi.json_writer import JSONText, format_double, to_json
from memdevd.qapi.qdict import qdict_key_order
from memdevd.qmp.errors import QMPError
from memdevd.qmp.session import Session
from memdevd.util.qemu_opts import id_wellformed

if TYPE_CHECKING:
    from memdevd.releases.recorded import Recording


def object_types(rec: Recording) -> list[str]:
    """Every value of QEMU's ``ObjectType`` enum in that release."""
    from memdevd.qapi.introspect import object_type_values

    return object_type_values(rec)


def qemu_opts_from_qdict(args: dict[str, Any]) -> dict[str, Any]:
    """``qemu_opts_from_qdict`` + ``qemu_opts_to_qdict`` for ``-device``.

    QEMU 7.2 and 8.2 turn device_add arguments into QemuOpts: values become
    strings (numbers printed, booleans ``on``/``off``), anything else is
    silently dropped, and a string ``id`` must be an identifier.
    """
    dev_id = args.get("id")
    if isinstance(dev_id, str) and not id_wellformed(dev_id):
        raise QMPError(M.INVALID_PARAMETER_VALUE.format("id", "an identifier"))
    out: dict[str, Any] = {}
    if isinstance(dev_id, str):
        out["id"] = dev_id
    for key in qdict_key_order(args):
        if key == "id":
            continue
        value = args[key]
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = "on" if value else "off"
        elif isinstance(value, int):
            out[key] = str(value)
        elif isinstance(value, float):
            out[key] = format_double(value)
    return out


@command("object-add", allow_preconfig=True)
def object_add(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    props, qom_type, obj_id = visit_object_options(args, rt)
    core(rt.machine.object_add, qom_type, obj_id, props)


@command("object-del", allow_preconfig=True)
def object_del(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.qapi.qom import ObjectDelArgs

    parsed = parse_args(ObjectDelArgs, args)
    # The monitor's chardev: 11.1 refuses to delete the current monitor
    # (no session: a caller outside any monitor, as tools/fuzz_long.py).
    current = session.listener_name if session is not None else None
    core(rt.machine.object_del, parsed.id, current_monitor=current)


@command("device_add", allow_preconfig=True)
def device_add(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    if rt.release.strict_device_add:
        opts = {k: args[k] for k in qdict_key_order(args)}
        core(rt.machine.device_add, opts, from_json=True)
    else:
        core(rt.machine.device_add, qemu_opts_from_qdict(args), from_json=False)


@command("device_del")
def device_del(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.qapi.machine import DeviceDelArgs

    parsed = parse_args(DeviceDelArgs, args)
    core(rt.machine.device_del, parsed.id)


@command("query-memory-devices")
def query_memory_devices(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    infos = rt.machine.memory.device_list()
    if len(infos) < 16:
        return infos
    # With hundreds of devices, encoding dominates, and most queries (a
    # tool polling) see an unchanged list: the last one's encoding serves.
    last = rt.memory_devices_reply
    if last is None or infos != last[0]:
        last = rt.memory_devices_reply = (infos, JSONText(to_json(infos)))
    return last[1]


@command("query-memory-size-summary")
def query_memory_size_summary(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return rt.machine.memory_size_summary()


@command("query-memdev", allow_preconfig=True)
def query_memdev(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return rt.machine.memdev_list()


@command("set-numa-node", allow_preconfig=True)
def set_numa_node(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    """``qmp_set_numa_node``: its arguments visited, then refused once the
    machine exists, which is always (--preconfig is not emulated)."""
    from memdevd.commands.base import arguments

    arguments(rt, "set-numa-node", args)
    raise QMPError(M.SET_NUMA_NODE_TOO_LATE)


@command("query-acpi-ospm-status")
def query_acpi_ospm_status(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return rt.machine.acpi_ospm_status()


@command("query-sgx")
def query_sgx(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.targets.x86_64.devices import sgx_epc

    no_args(args)
    return core(sgx_epc.query_sgx, rt.machine)


@command("query-sgx-capabilities")
def query_sgx_capabilities(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.targets.x86_64.devices import sgx_epc

    no_args(args)
    return core(sgx_epc.query_sgx_capabilities, rt.machine)


@command("query-hv-balloon-status-report", only_if="has_hv_balloon")
def query_hv_balloon_status_report(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.targets.x86_64.devices import hv_balloon

    no_args(args)
    return core(hv_balloon.query_hv_balloon_status_report, rt.machine)


def visit_object_options(args: dict[str, Any], rt: Runtime) -> tuple[dict[str, Any], str, str]:
    """``object-add``'s arguments: see :mod:`memdevd.qapi.object_options`."""
    from memdevd.qapi.source_schema import schema_of

    try:
        return object_options.visit_object_options(
            args, rt.release, schema=lambda: schema_of(rt.machine.recording)
        )
    except object_options.ObjectOptionsError as exc:
        raise QMPError(exc.desc) from None
