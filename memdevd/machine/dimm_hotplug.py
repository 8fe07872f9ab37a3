"""The machine hotplug handler's part for DIMMs that every board shares.

``pc_dimm_pre_plug`` (hw/mem/pc-dimm.c: slot, then the memory-device
core's address), ``pc_dimm_plug`` and the ACPI memory-hotplug slot state
(hw/acpi/memory_hotplug.c ``acpi_memory_plug_cb``,
``acpi_memory_unplug_request_cb``, ``acpi_memory_unplug_cb``) that the
board's ACPI device (x86: PIIX4_PM / ICH9-LPC; arm virt: acpi-ged) keeps
for the guest.  A board subclasses :class:`DimmHotplug` with its own checks
(:meth:`check_plug`, :meth:`check_unplug_request`) as its
``*_memory_pre_plug`` and unplug-request callbacks do before these.

Each handler splits QEMU's pre_plug into *check* (may fail, changes
nothing) and *commit* (assigns what pre_plug decided), so a failing
realize leaves the machine untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from memdevd import messages as M
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.devices.pc_dimm import PCDIMM
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device


class DimmHotplug:
    """pre_plug / plug / unplug of pc-dimm and nvdimm on a board with ACPI."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def check_plug(self, dimm: PCDIMM) -> None:
        """The board's checks before ``pc_dimm_pre_plug`` (CoreError)."""

    def legacy_align(self) -> int | None:
        """An alignment that replaces the memory region's (None: the region's)."""
        return None

    def check_unplug_request(self, dimm: PCDIMM) -> None:
        """The board's checks before the ACPI unplug request (CoreError)."""
        if dimm.is_a("nvdimm"):
            raise CoreError(M.NVDIMM_NO_HOT_UNPLUG)

    def pre_plug(self, dev: Device) -> tuple[int, int]:
        dimm = _dimm(dev)
        self.check_plug(dimm)
        slot = dimm.pre_plug_slot()
        dimm.slot = slot
        addr = self.machine.memory.pre_plug(dimm, self.legacy_align())
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
            # nvdimm_acpi_plug_cb() only raises the NVDIMM event; the
            # memory-hotplug slots never see an nvdimm.
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
        self.check_unplug_request(dimm)
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
    # Boards hand DimmHotplug pc-dimm devices only; no isinstance check,
    # which would import the device module here.
    return cast("PCDIMM", dev)
