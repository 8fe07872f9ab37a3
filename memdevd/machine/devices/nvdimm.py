"""nvdimm (hw/mem/nvdimm.c): a pc-dimm whose region excludes a label area.

The region the allocator places is the ``nvdimm-memory`` alias prepared on
first use (``nvdimm_prepare_memory_region``): the backend size minus
``label-size``, aligned down to the backend's alignment.  It needs the
machine's ``nvdimm=on`` and can never be hot-unplugged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from memdevd import messages as M
from memdevd.machine.devices.pc_dimm import PCDIMM
from memdevd.machine.errors import CoreError
from memdevd.machine.memory_device import MemoryRegion
from memdevd.machine.qdev import parse_bool, static_prop
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

MIN_NAMESPACE_LABEL_SIZE = 128 * 1024


class NVDIMM(PCDIMM):
    type_chain: ClassVar[tuple[str, ...]] = ("nvdimm", "pc-dimm", "device", "object")
    info_kind = "nvdimm"

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.label_size = 0
        self.uuid = "00000000-0000-0000-0000-000000000000"
        self.unarmed = False
        self.readonly = False
        # The prepared alias region, cached as QEMU caches nvdimm_mr.
        self.nvdimm_mr: MemoryRegion | None = None

    def static_props(self) -> list[Prop]:
        return [
            *super().static_props(),
            static_prop("unarmed", "bool", "unarmed", parse_bool, default=False),
        ]

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            Prop("label-size", "int", lambda o: _nv(o).label_size, _set_label_size),
            Prop("uuid", "QemuUUID", lambda o: _nv(o).uuid, _set_uuid),
        ]

    def prepare_memory_region(self) -> MemoryRegion:
        """``nvdimm_prepare_memory_region``."""
        if self.hostmem is None:
            raise CoreError(M.MEMDEV_MUST_BE_SET)
        b = self.hostmem
        align = b.mr_align
        size = b.mr_size
        pmem_size = (size - self.label_size) & ((1 << 64) - 1)
        pmem_size = pmem_size - pmem_size % align if align else pmem_size
        if size <= self.label_size or not pmem_size:
            raise CoreError(M.NVDIMM_TOO_SMALL.format(b.id, size, self.label_size, align))
        if not self.unarmed and b.readonly_region:
            raise CoreError(M.NVDIMM_UNARMED_REQUIRED.format(b.id))
        self.readonly = b.readonly_region
        return MemoryRegion(pmem_size, align, rom=b.readonly_region)

    def get_memory_region(self) -> MemoryRegion | None:
        if self.nvdimm_mr is None:
            self.nvdimm_mr = self.prepare_memory_region()
        return self.nvdimm_mr

    def realize_subclass(self) -> None:
        if self.nvdimm_mr is None:
            self.nvdimm_mr = self.prepare_memory_region()
        # The alias region is a QOM child of the nvdimm (nvdimm-memory[0]).
        if "nvdimm-memory[0]" not in self.children:
            self.add_child("nvdimm-memory[0]", MemoryRegionObject(self.nvdimm_mr.size))

    def qom_region(self) -> MemoryRegionObject | None:
        child = self.children.get("nvdimm-memory[0]")
        return child if isinstance(child, MemoryRegionObject) else None


def _nv(obj: QOMObject) -> NVDIMM:
    assert isinstance(obj, NVDIMM)
    return obj


def _set_label_size(obj: QOMObject, v: InputVisitor, name: str) -> None:
    nv = _nv(obj)
    if nv.nvdimm_mr is not None:
        raise CoreError(M.CANNOT_CHANGE_PROPERTY_VALUE)
    value = v.type_size(name)
    if value < MIN_NAMESPACE_LABEL_SIZE:
        raise CoreError(
            M.NVDIMM_LABEL_TOO_SMALL.format(nv.typename, name, value, MIN_NAMESPACE_LABEL_SIZE)
        )
    nv.label_size = value


def _set_uuid(obj: QOMObject, v: InputVisitor, name: str) -> None:
    import uuid  # here: importing uuid costs ~3 ms of start-up

    nv = _nv(obj)
    text = v.type_str(name)
    try:
        # qemu_uuid_parse accepts exactly the 36-character 8-4-4-4-12 form.
        if len(text) != 36:
            raise ValueError(text)
        nv.uuid = str(uuid.UUID(text))
    except ValueError:
        raise CoreError(M.NVDIMM_BAD_UUID.format(nv.typename, name)) from None
