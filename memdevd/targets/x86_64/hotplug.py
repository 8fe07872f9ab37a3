"""The pc/q35 machine hotplug handler for memory devices (hw/i386/pc.c).

``pc_machine_device_pre_plug_cb`` and friends dispatch on the device type;
for DIMMs they run ``pc_memory_pre_plug`` (ACPI and nvdimm checks, slot,
address), then ``pc_memory_plug`` (accounting and the ACPI slot state the
guest sees), and on ``device_del`` an ACPI eject request that only a guest
can complete.  Each handler splits QEMU's pre_plug into *check* (may fail,
changes nothing) and *commit* (assigns what pre_plug decided), so a
failing realize leaves the machine untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from memdevd import messages as M
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.devices.pc_dimm import PCDIMM
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device
    from memdevd.targets.x86_64.board import X86Board


class DimmHotplug:
    """``pc_memory_pre_plug`` / ``pc_memory_plug`` / unplug for pc-dimm, nvdimm."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def _check_acpi(self) -> None:
        if not self.machine.config.acpi:
            raise CoreError(M.MEMORY_HOTPLUG_NO_ACPI)

    def pre_plug(self, dev: Device) -> tuple[int, int]:
        dimm = _dimm(dev)
        m = self.machine
        self._check_acpi()
        if dimm.is_a("nvdimm") and not m.config.nvdimm:
            raise CoreError(M.NVDIMM_NOT_ENABLED)
        if not m.compat.get("pc-machine.memory-hotplug", True):
            board: X86Board = m.config.board  # type: ignore[assignment]
            raise CoreError(M.MEMORY_HOTPLUG_SUPPORT_NOT_SET.format(board.acpi_device))
        slot = dimm.pre_plug_slot()
        dimm.slot = slot
        # enforce_aligned_dimm=false (pc-i440fx-2.1 and older): page alignment.
        aligned = m.compat.get("pc-machine.enforce-aligned-dimm", True)
        legacy_align = None if aligned else 4096
        addr = m.memory.pre_plug(dimm, legacy_align)
        dimm.set_addr(addr)
        return slot, addr

    def commit(self, dev: Device, decided: Any) -> None:
        _dimm(dev).map_backend()

    def plug(self, dev: Device) -> None:
        dimm = _dimm(dev)
        m = self.machine
        m.memory.plug(dimm)
        m.memory.region_mapped()
        m.map_region(dimm.qom_region(), dimm.addr)
        assert m.device_memory is not None
        if not dimm.is_a("nvdimm"):
            m.device_memory.dimm_size += dimm.get_plugged_size()
        if dimm.is_a("nvdimm"):
            # piix4/ich9_device_plug_cb: nvdimm_acpi_plug_cb() only raises the
            # NVDIMM GPE; the memory-hotplug slots never see an nvdimm.
            return
        # acpi_memory_plug_cb
        slot = m.acpi_slots[dimm.slot]
        slot.dimm = dimm
        slot.is_enabled = True
        if dimm.hotplugged:
            slot.is_inserting = True
            m.guest.acpi_notify()

    def unplug_request(self, dev: Device) -> None:
        dimm = _dimm(dev)
        self._check_acpi()
        if dimm.is_a("nvdimm"):
            raise CoreError(M.NVDIMM_NO_HOT_UNPLUG)
        slot = self.machine.acpi_slots[dimm.slot]
        slot.is_removing = True
        self.machine.guest.acpi_notify()

    def unplug(self, dev: Device) -> None:
        dimm = _dimm(dev)
        m = self.machine
        slot = m.acpi_slots[dimm.slot]
        slot.is_enabled = False
        slot.dimm = None
        m.memory.unplug(dimm)
        m.memory.region_unmapped()
        region = dimm.qom_region()
        if region is not None:
            region.unmap()
        assert m.device_memory is not None
        if not dimm.is_a("nvdimm"):
            m.device_memory.dimm_size -= dimm.get_plugged_size()


def _dimm(dev: Device) -> PCDIMM:
    # X86Board.hotplug_handler() hands DimmHotplug pc-dimm devices only; no
    # isinstance check, which would import the device module here.
    return cast("PCDIMM", dev)
