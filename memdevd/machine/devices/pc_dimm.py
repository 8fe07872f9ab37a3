"""pc-dimm (hw/mem/pc-dimm.c): a DIMM backed by a memory backend.

Implements :class:`~memdevd.machine.memory_device.MemoryDeviceClass`: its
region is the whole backend, its address the ``addr`` property.  Slot
assignment (``pc_dimm_pre_plug``/``pc_dimm_get_free_slot``) lives here too,
because QEMU keeps it in pc-dimm.c; the address comes from the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.backends import HostMemoryBackend
from memdevd.machine.errors import CoreError
from memdevd.machine.memory_device import MemoryDeviceMixin, MemoryRegion
from memdevd.machine.qdev import (
    Device,
    link_prop,
    parse_int32,
    parse_uint32,
    parse_uint64,
    static_prop,
)
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

PC_DIMM_UNASSIGNED_SLOT = -1


class PCDIMM(MemoryDeviceMixin, Device):
    type_chain: ClassVar[tuple[str, ...]] = ("pc-dimm", "device", "object")
    interfaces: ClassVar[tuple[str, ...]] = ("memory-device",)
    link_attrs: ClassVar[dict[str, str]] = {"memdev": "hostmem"}
    description = "DIMM memory module"
    info_kind: ClassVar[str] = "dimm"

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.addr = 0
        self.node = 0
        self.slot = PC_DIMM_UNASSIGNED_SLOT
        self.hostmem: HostMemoryBackend | None = None

    def static_props(self) -> list[Prop]:
        return [
            static_prop("addr", "uint64", "addr", parse_uint64, default=0),
            static_prop("node", "uint32", "node", parse_uint32, default=0),
            static_prop("slot", "int32", "slot", parse_int32, default=PC_DIMM_UNASSIGNED_SLOT),
            link_prop("memdev", "memory-backend", "hostmem"),
        ]

    def class_props_key(self) -> str | None:
        return ""  # pc-dimm's and nvdimm's lists depend on the class alone

    def class_props(self) -> list[Prop]:
        return [*super().class_props(), Prop("size", "uint64", _get_size, None)]

    # -- MemoryDeviceClass -------------------------------------------------------

    def get_addr(self) -> int:
        return self.addr

    def set_addr(self, addr: int) -> None:
        self.addr = addr

    def get_memory_region(self) -> MemoryRegion | None:
        if self.hostmem is None:
            raise CoreError(M.MEMDEV_MUST_BE_SET)
        b = self.hostmem
        if not b.mr_inited():
            # host_memory_backend_get_memory() of an incomplete backend.
            raise CoreError(M.MEMDEV_MUST_BE_SET)
        return MemoryRegion(b.mr_size, b.mr_align, rom=b.readonly_region)

    def get_plugged_size(self) -> int:
        mr = self.get_memory_region()
        return mr.size if mr is not None else 0

    def fill_device_info(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.id is not None:
            data["id"] = self.id
        data["addr"] = self.addr
        data["size"] = self.get_plugged_size()
        data["slot"] = self.slot
        data["node"] = self.node
        data["memdev"] = self.hostmem.canonical_path() if self.hostmem else ""
        data["hotplugged"] = self.hotplugged
        data["hotpluggable"] = type(self).hotpluggable
        return {"type": self.info_kind, "data": data}

    def device_id(self) -> str | None:
        return self.id

    def is_realized(self) -> bool:
        return self.realized

    # -- pc_dimm_pre_plug -----------------------------------------------------------

    def pre_plug_slot(self) -> int:
        """The slot checks of ``pc_dimm_pre_plug``; returns the slot to use."""
        ram_slots = self.machine.config.ram_slots
        slot = self.slot
        if (slot < 0 or slot >= ram_slots) and slot != PC_DIMM_UNASSIGNED_SLOT:
            # "%PRIu64" of ram_slots - 1: 0 slots prints 2^64 - 1.
            upper = (ram_slots - 1) & ((1 << 64) - 1)
            raise CoreError(M.DIMM_INVALID_SLOT.format(slot, upper))
        return self.machine.dimm_free_slot(None if slot == PC_DIMM_UNASSIGNED_SLOT else slot)

    # -- realize ------------------------------------------------------------------

    def realize(self) -> None:
        """``pc_dimm_realize``: NUMA node, memdev set and not busy."""
        nb_nodes = self.machine.numa.num_nodes
        if (nb_nodes > 0 and self.node >= nb_nodes) or (not nb_nodes and self.node):
            raise CoreError(M.DIMM_NODE_EXCEEDS.format(self.node, nb_nodes or 1))
        if self.hostmem is None:
            raise CoreError(M.MEMDEV_NOT_SET)
        if self.hostmem.mapped:
            raise CoreError(M.MEMDEV_BUSY.format(self.hostmem.id))
        self.realize_subclass()

    def realize_subclass(self) -> None:
        """``PCDIMMDeviceClass.realize`` (nvdimm overrides it)."""

    def qom_region(self) -> MemoryRegionObject | None:
        """The QOM memory-region this DIMM maps into device memory."""
        return self.hostmem.memory_region() if self.hostmem is not None else None

    def map_backend(self) -> None:
        assert self.hostmem is not None
        self.hostmem.mapped = True
        self.hostmem.mapped_by = self

    def unrealize(self) -> None:
        if self.hostmem is not None:
            self.hostmem.mapped = False
            self.hostmem.mapped_by = None


def _get_size(obj: QOMObject) -> int:
    assert isinstance(obj, PCDIMM)
    return obj.get_plugged_size()
