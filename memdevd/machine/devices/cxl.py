"""CXL devices: ``cxl-rp`` and ``cxl-type3`` (hw/pci-bridge, hw/mem).

Catalog devices (properties, defaults and texts as recorded) with what
QEMU's realize does that memdevd can show.  The CXL host bridge,
``pxb-cxl``, is an expander (:mod:`memdevd.machine.devices.pci_expander`);
the machine checks ``cxl=on`` when creation is done
(:mod:`memdevd.machine.cxl`).

* ``cxl-rp`` (hw/pci-bridge/cxl_root_port.c) is a ``pcie-root-port``
  whose secondary bus is a CXL bus, named after its id (else ``cxl.N``).
* ``cxl-type3`` (hw/mem/cxl_type3.c) is a CXL memory expander: its
  backends (``volatile-memdev``, ``persistent-memdev``, 7.2's ``memdev``,
  ``lsa``) are checked in ``cxl_setup_memory``'s order and the memory
  ones marked in use (``object-del`` refuses them), for good: QEMU does
  not clear the mark when the device goes.  It is not a memory device
  (``query-memory-devices`` does not list it) and no guest can access the
  memory (docs/divergences.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from memdevd import messages as M
from memdevd.machine.devices.generic import CatalogPCIDevice
from memdevd.machine.devices.pcie_root_port import BusObject
from memdevd.machine.devices.pcie_switch import CatalogPCIePort
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.backends import HostMemoryBackend


#: CXL_CAPACITY_MULTIPLIER: the granule of a type 3 device's capacity.
CXL_CAPACITY_MULTIPLIER = 256 << 20
#: DCD_MAX_NUM_REGION: the dynamic capacity regions a device has room for.
DCD_MAX_NUM_REGION = 8
#: error_append_hint() of cxl_setup_memory (printed at start-up, not by QMP).
DC_HINT = "setup DC regions failed"


class CXLBusObject(BusObject):
    type_chain = ("CXL", "PCIE", "PCI", "bus", "object")


class CXLRootPort(CatalogPCIePort):
    """``cxl-rp``: a PCIe root port with a CXL secondary bus."""

    secondary_bus_type = "CXL"
    bus_object = CXLBusObject


class CXLType3(CatalogPCIDevice):
    """``cxl-type3``: a CXL memory expander (its memory is not accessible)."""

    #: The backend properties, in the order cxl_setup_memory reads them.
    MEMORY_PROPS: ClassVar[tuple[str, ...]] = ("memdev", "volatile-memdev", "persistent-memdev")

    def _backend(self, prop: str) -> HostMemoryBackend | None:
        path = self.values.get(prop)
        if not path:
            return None
        obj, _ = self.machine.resolve(str(path))
        from memdevd.machine.backends import HostMemoryBackend

        return obj if isinstance(obj, HostMemoryBackend) else None

    def realize(self) -> None:
        self.apply_links()
        devfn = self.pci_realize()
        if self.machine.release.cxl_type3_volatile:
            self._setup_memory()
        else:
            self._setup_memory_7_2()
        self.devfn = devfn

    def _map(self, backend: HostMemoryBackend) -> None:
        """``host_memory_backend_set_mapped``: never cleared by ct3_exit."""
        backend.mapped = True
        backend.mapped_by = self

    def _setup_memory_7_2(self) -> None:
        """7.2's ``cxl_setup_memory``: the backend is marked in use before
        the lsa check, and stays so when it fails."""
        hostmem = self._backend("memdev")
        if hostmem is None:
            raise CoreError(M.CXL_T3_MEMDEV_MUST_BE_SET_7_2)
        self._map(hostmem)
        if self._backend("lsa") is None:
            raise CoreError(M.CXL_T3_LSA_MUST_BE_SET_7_2)

    def _setup_memory(self) -> None:
        """8.0+ ``cxl_setup_memory`` up to the dynamic capacity regions."""
        hostmem = self._backend("memdev")
        hostvmem = self._backend("volatile-memdev")
        hostpmem = self._backend("persistent-memdev")
        dc_regions = int(self.values.get("num-dc-regions", 0))
        if hostmem is None and hostvmem is None and hostpmem is None and not dc_regions:
            raise CoreError(M.CXL_T3_NO_MEMDEV)
        if hostmem is not None and hostpmem is not None:
            raise CoreError(M.CXL_T3_MEMDEV_AND_PERSISTENT)
        if hostmem is not None:
            # Use of hostmem property implies pmem: the link moves, so QOM
            # reads memdev as "" and persistent-memdev as the backend.
            hostpmem = hostmem
            self.values["persistent-memdev"] = self.values.pop("memdev")
        if hostpmem is not None and self._backend("lsa") is None:
            raise CoreError(M.CXL_T3_LSA_FOR_PERSISTENT)
        for backend in (hostvmem, hostpmem):
            if backend is None:
                continue
            if backend.mapped:
                raise CoreError(M.CXL_T3_BACKEND_USED.format(backend.id))
            self._map(backend)
        if dc_regions:
            self._setup_dc(dc_regions, hostvmem, hostpmem)

    def _setup_dc(
        self,
        regions: int,
        hostvmem: HostMemoryBackend | None,
        hostpmem: HostMemoryBackend | None,
    ) -> None:
        """The dynamic capacity backend, then ``cxl_create_dc_regions``'s
        checks (the regions split the backend, 256 MiB aligned, after the
        static memory)."""
        host_dc = self._backend("volatile-dc-memdev")
        if host_dc is None:
            raise CoreError(M.CXL_T3_DC_NO_BACKEND)
        if host_dc.mapped:
            raise CoreError(M.CXL_T3_BACKEND_USED.format(host_dc.id))
        self._map(host_dc)
        if regions > DCD_MAX_NUM_REGION:
            # QEMU writes past its array of 8 regions (docs/divergences.md).
            raise CoreError(M.CXL_DC_TOO_MANY_REGIONS.format(DCD_MAX_NUM_REGION))
        dc_size = host_dc.size
        region_len = -(-dc_size // regions)
        if dc_size % (regions * CXL_CAPACITY_MULTIPLIER):
            raise CoreError(M.CXL_T3_DC_SIZE_NOT_MULTIPLE.format(region_len), hint=DC_HINT)
        if region_len % CXL_CAPACITY_MULTIPLIER:
            raise CoreError(
                M.CXL_T3_DC_REGION_UNALIGNED.format(CXL_CAPACITY_MULTIPLIER), hint=DC_HINT
            )
        base = sum(b.size for b in (hostvmem, hostpmem) if b is not None)
        if base % CXL_CAPACITY_MULTIPLIER:
            raise CoreError(
                M.CXL_T3_DC_BASE_UNALIGNED.format(CXL_CAPACITY_MULTIPLIER), hint=DC_HINT
            )


class SwitchMailboxCCI(CatalogPCIDevice):
    """``cxl-switch-mailbox-cci`` (hw/cxl/switch-mailbox-cci.c, 9.1+): the
    CCI of a switch's upstream port; its mailbox is not emulated."""

    def realize(self) -> None:
        self.apply_links()
        devfn = self.pci_realize()
        if not self.values.get("target"):
            raise CoreError(M.CXL_SWITCH_CCI_NO_TARGET)
        self.devfn = devfn
