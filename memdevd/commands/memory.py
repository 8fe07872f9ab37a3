"""Memory commands: backends, devices and the memory queries.

``object-add``/``object-del``, ``device_add``/``device_del``,
``query-memory-devices``, ``query-memory-size-summary``, ``query-memdev``
and ``query-acpi-ospm-status``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, core, no_args, parse_args
from memdevd.qapi import object_options
from memdevd.qapi.qdict import qdict_key_order
from memdevd.qmp.encoder import JSONText, format_double, to_json
from memdevd.qmp.errors import QMPError
from memdevd.qmp.registry import Registry
from memdevd.qmp.session import Session
from memdevd.util.qemu_opts import id_wellformed

if TYPE_CHECKING:
    from memdevd.releases.recorded import Recording
    from memdevd.releases.table import Release


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


def register(reg: Registry, rt: Runtime) -> None:
    machine = rt.machine
    release = rt.release

    def object_add(session: Session, args: dict[str, Any]) -> None:
        props, qom_type, obj_id = visit_object_options(args, release)
        core(machine.object_add, qom_type, obj_id, props)

    def object_del(session: Session, args: dict[str, Any]) -> None:
        from memdevd.qapi.qom import ObjectDelArgs

        parsed = parse_args(ObjectDelArgs, args)
        core(machine.object_del, parsed.id)

    def device_add(session: Session, args: dict[str, Any]) -> None:
        if release.strict_device_add:
            opts = {k: args[k] for k in qdict_key_order(args)}
            core(machine.device_add, opts, from_json=True)
        else:
            core(machine.device_add, qemu_opts_from_qdict(args), from_json=False)

    def device_del(session: Session, args: dict[str, Any]) -> None:
        from memdevd.qapi.machine import DeviceDelArgs

        parsed = parse_args(DeviceDelArgs, args)
        core(machine.device_del, parsed.id)

    # The last list and its encoding: with hundreds of devices, encoding
    # dominates, and most queries (a tool polling) see an unchanged list.
    last: list[Any] = [None, None]

    def query_memory_devices(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        infos = machine.memory.device_list()
        if len(infos) < 16:
            return infos
        if infos != last[0]:
            last[0], last[1] = infos, JSONText(to_json(infos))
        return last[1]

    def query_memory_size_summary(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        return machine.memory_size_summary()

    def query_memdev(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        return machine.memdev_list()

    def query_acpi_ospm_status(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        return machine.acpi_ospm_status()

    reg.register("object-add", object_add, allow_preconfig=True)
    reg.register("object-del", object_del, allow_preconfig=True)
    reg.register("device_add", device_add, allow_preconfig=True)
    reg.register("device_del", device_del)
    reg.register("query-memory-devices", query_memory_devices)
    reg.register("query-memory-size-summary", query_memory_size_summary)
    reg.register("query-memdev", query_memdev, allow_preconfig=True)
    reg.register("query-acpi-ospm-status", query_acpi_ospm_status)

    def query_sgx(session: Session, args: dict[str, Any]) -> Any:
        from memdevd.targets.x86_64.devices import sgx_epc

        no_args(args)
        return core(sgx_epc.query_sgx, machine)

    def query_sgx_capabilities(session: Session, args: dict[str, Any]) -> Any:
        from memdevd.targets.x86_64.devices import sgx_epc

        no_args(args)
        return core(sgx_epc.query_sgx_capabilities, machine)

    def query_hv_balloon_status_report(session: Session, args: dict[str, Any]) -> Any:
        from memdevd.targets.x86_64.devices import hv_balloon

        no_args(args)
        return core(hv_balloon.query_hv_balloon_status_report, machine)

    reg.register("query-sgx", query_sgx)
    reg.register("query-sgx-capabilities", query_sgx_capabilities)
    if release.has_hv_balloon:
        reg.register("query-hv-balloon-status-report", query_hv_balloon_status_report)


def visit_object_options(args: dict[str, Any], release: Release) -> tuple[dict[str, Any], str, str]:
    """``object-add``'s arguments: see :mod:`memdevd.qapi.object_options`."""
    try:
        return object_options.visit_object_options(args, release)
    except object_options.ObjectOptionsError as exc:
        raise QMPError(exc.desc) from None
