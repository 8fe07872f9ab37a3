"""PCIe ports of the catalog with a secondary bus: switch ports, root ports.

``x3130-upstream``/``cxl-upstream`` (a switch's upstream port),
``xio3130-downstream``/``cxl-downstream`` (its downstream ports) and the
``ioh3420`` root port are catalog devices (properties, defaults and texts
as recorded) whose realize (hw/pci-bridge/xio3130_*.c, ioh3420.c,
cxl_upstream.c, cxl_downstream.c) memdevd models as far as it shows:
``pci_bridge_initfn`` names the secondary PCIe
bus after the port's id (else ``pcie.N``), and a port with a slot (a
downstream port, a root port) registers its chassis and slot
(``pcie_chassis_add_slot``: one port per pair, ``-EBUSY`` else).  A port
with a slot has one device slot on its bus (``pcie_has_upstream_port``)
and takes hot-plugged devices unless ``hotplug=off``; an upstream port's
bus takes them only through ACPI PCI hot-plug (see :class:`UpstreamPort`).
``cxl-rp`` is a root port whose secondary bus is a CXL bus (``cxl.N``
without an id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from memdevd import messages as M
from memdevd.machine.buses import Bus
from memdevd.machine.devices.generic import CatalogPCIDevice
from memdevd.machine.devices.pci_expander import automatic_bus_name
from memdevd.machine.devices.pcie_root_port import EBUSY, BusObject, PCIEBusObject, pcie_slot_ids
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device


class CatalogPCIePort(CatalogPCIDevice):
    """A catalog PCIe port with its secondary bus."""

    #: The secondary bus's type (``pci_bridge_initfn``'s argument).
    secondary_bus_type: ClassVar[str] = "PCIE"
    bus_object: ClassVar[type[BusObject]] = PCIEBusObject
    #: A port with a slot (root and downstream ports; not an upstream port).
    has_slot: ClassVar[bool] = True

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.bus_name: str | None = None

    @property
    def child_bus(self) -> Bus | None:
        if self.bus_name is None:
            return None
        hotplug = self.has_slot and bool(self.values.get("hotplug", True))
        return Bus(self.bus_name, self.secondary_bus_type, hotplug, owner=self)

    @property
    def is_pcie_slot(self) -> bool:
        return self.has_slot

    @property
    def slot_ids(self) -> tuple[int, int]:
        return int(self.values.get("chassis", 0)), int(self.values.get("slot", 0))

    def realize(self) -> None:
        """The devfn, the secondary bus's name, then the chassis slot."""
        self.apply_links()
        devfn = self.pci_realize()
        # The automatic name is taken even if realize fails below, as in QEMU.
        bus_name = self.id if self.id else automatic_bus_name(self.machine, self.secondary_bus_type)
        if self.has_slot and self.slot_ids in pcie_slot_ids(self.machine, self):
            raise CoreError(M.PCIE_CHASSIS_SLOT_FAILED.format(-EBUSY))
        self.devfn = devfn
        self.bus_name = bus_name
        self.add_child(bus_name, self.bus_object())


class UpstreamPort(CatalogPCIePort):
    """``x3130-upstream``, ``cxl-upstream``.

    Its bus has no hotplug handler of its own; ACPI PCI hot-plug
    (``acpi_pcihp_device_plug_cb``) gives it one when the port is
    cold-plugged on an ACPI machine in the main host bridge's hierarchy
    (not behind an expander such as pxb-cxl)."""

    has_slot = False

    @property
    def child_bus(self) -> Bus | None:
        bus = super().child_bus
        if bus is None:
            return None
        acpi = self.machine.config.acpi and not self.hotplugged and not _behind_expander(self)
        return Bus(bus.name, bus.bus_typename, acpi, owner=self)


def _behind_expander(dev: Device) -> bool:
    """Whether an expander's root bus is above ``dev``."""
    owner = dev.parent_bus_owner
    while owner is not None:
        if getattr(owner, "host_bridge", None) is not None:
            return True
        owner = owner.parent_bus_owner
    return False


class DownstreamPort(CatalogPCIePort):
    """``xio3130-downstream``, ``cxl-downstream``, and ``ioh3420`` (a root
    port's slot behaves alike)."""
