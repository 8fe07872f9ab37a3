"""memdevd's own commands, prefixed ``x-memdevd-`` as QEMU prefixes unstable ones.

``x-memdevd-query-memslots`` shows the memslot accounting QEMU 8.2 keeps
inside (hw/mem/memory-device.c) and never reports: used, required and
reserved memslots, the limits of the emulated KVM and vhost backends, and
each memory device's share.  It is how a test sees the point of
``dynamic-memslots``: a virtio-mem device requires its decided number of
memslots from the start, uses them only as its guest plugs memory, and the
difference stays reserved against KVM and vhost.
"""

from __future__ import annotations

from typing import Any

from memdevd.commands.base import Runtime, command, no_args
from memdevd.machine.memory_device import (
    MEMORY_DEVICES_SAFE_MAX_MEMSLOTS,
    MEMORY_DEVICES_SOFT_MEMSLOT_LIMIT,
    is_empty,
)
from memdevd.qapi.control import NoArgs
from memdevd.qmp.session import Session


def memslot_report(rt: Runtime) -> dict[str, Any]:
    machine = rt.machine
    core = machine.memory
    limits = machine.memslot_limits
    accounting = rt.release.memslot_accounting
    devices: list[dict[str, Any]] = []
    for md in core.sorted_devices():
        if md.fill_device_info()["type"] == "sgx-epc":
            # EPC sections are mapped outside device memory: never counted.
            continue
        if is_empty(md):
            required = used = 0
        else:
            required = md.get_memslots()
            # A virtio proxy's memslots are its inner device's.
            mapped = getattr(getattr(md, "vdev", md), "mapped_memslots", None)
            used = mapped() if callable(mapped) else 1
        entry: dict[str, Any] = {}
        dev_id = md.device_id()
        if dev_id is not None:
            entry["id"] = dev_id
        entry["qom-path"] = md.qom_path()
        entry["type"] = md.fill_device_info()["type"]
        entry["required-memslots"] = required
        entry["used-memslots"] = used
        if not is_empty(md):
            # memory_device_pre_plug's alignment (what places the device).
            region = md.get_memory_region()
            assert region is not None
            entry["alignment"] = max(md.get_min_alignment(), region.align)
        dynamic = getattr(getattr(md, "vdev", None), "dynamic_memslots", None)
        if dynamic is not None:
            entry["dynamic-memslots"] = bool(dynamic)
        devices.append(entry)
    if accounting and machine.device_memory is not None:
        dm = machine.device_memory
        used_total, required_total = dm.used_memslots, dm.required_memslots
        auto = dm.memslot_auto_decision_active
    else:
        # 7.2 keeps no accounting: every realized memory device (EPC sections
        # included) maps one memslot, as KVM sees it.
        used_total = required_total = core.used_memslots_7_2()
        auto = 0
    out: dict[str, Any] = {
        "accounting": accounting,
        "used-memslots": used_total,
        "required-memslots": required_total,
        "reserved-memslots": core.reserved_memslots() if accounting else 0,
        "soft-limit": MEMORY_DEVICES_SOFT_MEMSLOT_LIMIT,
        "safe-max": MEMORY_DEVICES_SAFE_MAX_MEMSLOTS,
        "auto-decision-active": auto,
    }
    if limits.kvm_enabled:
        out["kvm"] = {
            "max": limits.kvm_max(),
            "base": limits.kvm_base,
            "free": limits.kvm_free(used_total),
        }
    if limits.vhost_slots is not None:
        out["vhost"] = {
            "max": limits.vhost_max(),
            "base": limits.vhost_base,
            "free": limits.vhost_free(used_total),
        }
    out["devices"] = devices
    return out


@command("x-memdevd-query-memslots", allow_preconfig=True, no_faults=True, qapi=(NoArgs, Any))
def query_memslots(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return memslot_report(rt)
