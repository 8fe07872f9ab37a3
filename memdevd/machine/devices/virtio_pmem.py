"""virtio-pmem-pci (hw/virtio/virtio-pmem.c, virtio-pmem-pci.c).

A virtio-pmem device exposes a whole memory backend at ``memaddr``: its
region and plugged size are the backend's size, its alignment the
backend's.  :class:`VirtioPMEM` is the inner ``virtio-pmem`` device (the
proxy's ``virtio-backend`` child: ``memaddr``, ``memdev``, realize checks),
:class:`VirtioPMEMPCI` the ``virtio-pmem-pci`` proxy.  It can never be
unplugged: 7.2 refuses every virtio memory device, 8.1+'s virtio-md-pci
refuses devices without an unplug check, which virtio-pmem lacks.
"""

from __future__ import annotations

from typing import Any, ClassVar

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import link_prop, parse_uint64, static_prop
from memdevd.machine.qom import Prop
from memdevd.machine.virtio_md import VirtioDevice, VirtioMDPCI


class VirtioPMEM(VirtioDevice):
    """``TYPE_VIRTIO_PMEM``: the ``virtio-backend`` child of a virtio-pmem-pci."""

    type_chain: ClassVar[tuple[str, ...]] = ("virtio-pmem", "virtio-device", "device", "object")
    abstract = False

    def static_props(self) -> list[Prop]:
        return [
            static_prop("memaddr", "uint64", "memaddr", parse_uint64, default=0),
            link_prop("memdev", "memory-backend", "hostmem"),
        ]

    def realize_checks(self) -> None:
        """``virtio_pmem_realize``."""
        b = self.hostmem
        if b is None:
            raise CoreError(M.VIRTIO_PMEM_MEMDEV_NOT_SET)
        if b.mapped:
            raise CoreError(M.MEMDEV_BUSY.format(b.id))

    def commit(self) -> None:
        assert self.hostmem is not None
        self.hostmem.mapped = True
        self.hostmem.mapped_by = self.proxy
        super().commit()

    def unrealize(self) -> None:
        if self.hostmem is not None:
            self.hostmem.mapped = False
            self.hostmem.mapped_by = None
        super().unrealize()

    def fill_device_info(self, data: dict[str, Any]) -> dict[str, Any]:
        """``virtio_pmem_fill_device_info`` (VirtioPMEMDeviceInfo member order)."""
        data["memaddr"] = self.memaddr
        data["size"] = self.hostmem.mr_size if self.hostmem is not None else 0
        data["memdev"] = self.hostmem.canonical_path() if self.hostmem is not None else ""
        return data


class VirtioPMEMPCI(VirtioMDPCI):
    """``virtio-pmem-pci``."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "virtio-pmem-pci",
        "virtio-pmem-pci-base",
        "virtio-pci",
        "pci-device",
        "device",
        "object",
    )
    proxy_types = ("virtio-pmem-pci", "virtio-pmem-pci-base")
    vdev_class = VirtioPMEM
    abstract = False
    info_kind = "virtio-pmem"

    def get_plugged_size(self) -> int:
        """``virtio_pmem_pci_get_plugged_size``: the region size."""
        mr = self.get_memory_region()
        return mr.size if mr is not None else 0
