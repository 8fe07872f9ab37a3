"""``intel-iommu``: the q35 vIOMMU libvirt's ``<iommu model='intel'>`` adds.

A dynamic sysbus device q35 allows (pc refuses it), one vIOMMU per
machine (``pc_machine_device_pre_plug_cb``, which counts
``virtio-iommu-pci`` too), its properties from the recorded catalog and
the checks of ``x86_iommu_realize`` and ``vtd_realize``/
``vtd_decide_config`` with each release's texts.  No DMA is remapped and
no interrupt either: it is placed and listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.devices.generic import CatalogMixin
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device
from memdevd.machine.qom import Prop
from memdevd.targets.x86_64.devices.ramfb import SYSBUS_PATH

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

# include/hw/i386/intel_iommu.h
VTD_HOST_AW_39BIT = 39
VTD_HOST_AW_48BIT = 48


def has_viommu(machine: Machine, me: Device) -> bool:
    """``pcms->iommu``: a vIOMMU is plugged already."""
    return any(
        dev is not me and dev.realized and (dev.is_a("x86-iommu") or dev.is_a("virtio-iommu-pci"))
        for dev in machine.devices()
    )


class IntelIOMMU(CatalogMixin, Device):
    """``intel-iommu`` (``IntelIOMMUState``)."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "intel-iommu",
        "x86-iommu",
        "sys-bus-device",
        "device",
        "object",
    )
    bus_type = "System"
    hotpluggable = False

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        info = machine.recording.device_type("intel-iommu")
        assert info is not None, "intel-iommu is in every recorded x86 catalog"
        self.catalog = info  # type: ignore[misc]
        self.type_chain = ("intel-iommu", *info.parents)  # type: ignore[misc]
        self.values: dict[str, Any] = {}

    def class_props_key(self) -> str | None:
        return f"catalog-{self.machine.recording.recorded_as}"

    def class_props(self) -> list[Prop]:
        parent_bus = Prop("parent_bus", "link<bus>", lambda o: SYSBUS_PATH, None)
        return [parent_bus, *super().class_props(), *self.catalog_props()]

    def realize(self) -> None:
        machine = self.machine
        if machine.config.board.family != "q35":
            # qdev_device_add_from_qdict: pc allows no vIOMMU on its sysbus.
            raise CoreError(
                M.INVALID_PARAMETER_VALUE.format(
                    "driver", "a dynamic sysbus device type for the machine"
                )
            )
        if has_viommu(machine, self):
            raise CoreError(M.MULTIPLE_VIOMMUS)
        self._x86_iommu_realize()
        self._vtd_realize()

    def _flag(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def _x86_iommu_realize(self) -> None:
        """The interrupt remapping default and its KVM constraint."""
        config = self.machine.config
        irq_all_kernel = config.accel == "kvm" and config.kernel_irqchip == "on"
        intremap = str(self.values.get("intremap", "auto"))
        if intremap == "auto":
            intremap = "off" if irq_all_kernel else "on"
        self.ir_supported = intremap == "on"
        if self.ir_supported and irq_all_kernel:
            raise CoreError(M.VIOMMU_IR_NEEDS_SPLIT)

    def _vtd_realize(self) -> None:
        """``vtd_realize``'s first check, then ``vtd_decide_config``."""
        release = self.machine.release
        config = self.machine.config
        if self._flag("x-pasid-mode") and self._flag("device-iotlb"):
            raise CoreError(M.VTD_PASID_DEVICE_IOTLB)
        eim = str(self.values.get("eim", "auto"))
        if eim == "on" and not self.ir_supported:
            raise CoreError(M.VTD_EIM_WITHOUT_INTREMAP)
        in_kernel = config.accel == "kvm" and config.kernel_irqchip != "off"
        if eim == "auto":
            buggy = self._flag("x-buggy-eim")
            eim = "on" if (in_kernel or buggy) and self.ir_supported else "off"
        split = config.accel == "kvm" and config.kernel_irqchip == "split"
        # 7.2: EIM needs KVM's split irqchip (later releases allow it under TCG).
        needs_split = eim == "on" and not self._flag("x-buggy-eim") and not split
        if needs_split and release.vtd_eim_requires_split:
            raise CoreError(M.VTD_EIM_REQUIRES_SPLIT)
        scalable = self._flag("x-scalable-mode")
        flts = self._flag("x-flts")
        if flts and not scalable:
            raise CoreError(M.VTD_FLTS_SCALABLE_ONLY)
        aw_bits = int(self.values.get("aw-bits", VTD_HOST_AW_39BIT))
        if not flts and aw_bits not in (VTD_HOST_AW_39BIT, VTD_HOST_AW_48BIT):
            mode = "Scalable mode(flts=off)" if scalable else "Legacy mode"
            raise CoreError(
                release.vtd_aw_bits_text.format(
                    mode=mode, aw39=VTD_HOST_AW_39BIT, aw48=VTD_HOST_AW_48BIT
                )
            )
        if flts and aw_bits != VTD_HOST_AW_48BIT:
            raise CoreError(M.VTD_FLTS_AW_BITS.format(VTD_HOST_AW_48BIT))
        if scalable and not self.values.get("dma-drain", True):
            raise CoreError(M.VTD_SCALABLE_NEEDS_DMA_DRAIN)
        if self._flag("x-pasid-mode") and not scalable:
            raise CoreError(M.VTD_PASID_NEEDS_SCALABLE)
