"""PCI expander bridges: ``pxb``, ``pxb-pcie``, ``pxb-cxl`` (hw/pci-bridge/pci_expander_bridge.c).

An expander is a PCI function on the root bus that brings a host bridge
of its own (a board device under ``/machine/unattached``) with a root bus
numbered ``bus_nr``.  Realize (``pxb_dev_realize_common``) refuses, in
QEMU's order: the wrong kind of bus (a ``pxb`` on a PCIe bus, a
``pxb-pcie`` or ``pxb-cxl`` on a conventional one), a NUMA node the
machine lacks, a bus that is not a root bus, and a ``bus_nr`` another
child bus of the root bus has (a bridge's secondary bus reads 0 until a
firmware numbers it).

``pxb-pcie`` and ``pxb-cxl`` are modelled whole: their root bus is named
after the expander's id (else ``pxb-pcie-bus.N``/``pxb-cxl-bus.N``), takes
cold-plugged devices, refuses hot-plug, and ``query-pci`` lists it as a
host bridge of its own before the main one (newest first).  A ``pxb``
puts an internal ``pci-bridge`` behind its host bridge; memdevd checks
its realize as QEMU does and places it on the root bus, but makes neither
that bridge nor its bus (docs/divergences.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from memdevd import messages as M
from memdevd.machine.buses import Bus, bus_devices, device_buses
from memdevd.machine.devices.generic import CatalogPCIDevice
from memdevd.machine.devices.pcie_root_port import BusObject
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import QOMObject

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: NUMA_NODE_UNASSIGNED: the expanders' numa_node default.
NUMA_NODE_UNASSIGNED = 0xFFFF


def automatic_bus_name(machine: Machine, bus_type: str) -> str:
    """``qbus_init_bus_name``: the lower-case bus type and the type's counter."""
    n = machine.bus_automatic_ids.get(bus_type, 0)
    machine.bus_automatic_ids[bus_type] = n + 1
    return f"{bus_type.lower()}.{n}"


class PXBHost(QOMObject):
    """``TYPE_PXB_HOST``: the sysbus host bridge of a pxb or pxb-pcie."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "pxb-host",
        "pci-host-bridge",
        "sys-bus-device",
        "device",
        "object",
    )


class PXBCXLHost(QOMObject):
    """``TYPE_PXB_CXL_HOST``: the sysbus host bridge of a pxb-cxl."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "pxb-cxl-host",
        "pci-host-bridge",
        "sys-bus-device",
        "device",
        "object",
    )


class PXBPCIeBusObject(BusObject):
    type_chain = ("pxb-pcie-bus", "PCIE", "PCI", "bus", "object")


class PXBCXLBusObject(BusObject):
    type_chain = ("pxb-cxl-bus", "CXL", "PCIE", "PCI", "bus", "object")


class PXB(CatalogPCIDevice):
    """``pxb``: checked and placed; its internal bridge is not made."""

    #: Whether the expander goes on a PCIe bus, and QEMU's text if not.
    express: ClassVar[bool] = False
    wrong_bus_text: ClassVar[str] = M.PXB_ON_PCIE_BUS
    #: The root bus's type and host bridge (None: not modelled).
    root_bus_type: ClassVar[str | None] = None
    host_type: ClassVar[type[QOMObject]] = PXBHost
    bus_object: ClassVar[type[BusObject]] = PXBPCIeBusObject

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.bus_name: str | None = None
        self.host_bridge: QOMObject | None = None

    @property
    def bus_nr(self) -> int:
        return int(self.values.get("bus_nr", 0))

    @property
    def child_bus(self) -> Bus | None:
        if self.bus_name is None or self.root_bus_type is None:
            return None
        # A root bus without a hotplug handler.
        return Bus(self.bus_name, self.root_bus_type, False, owner=self)

    def realize(self) -> None:
        """``pci_qdev_realize``: the devfn, then the expander's realize."""
        self.apply_links()
        devfn = self.pci_realize()
        bus = self.pci_bus()
        assert bus is not None
        if bus.is_a("PCIE") != self.express:
            raise CoreError(self.wrong_bus_text)
        # pxb_dev_realize_common
        node = int(self.values.get("numa_node", NUMA_NODE_UNASSIGNED))
        if node != NUMA_NODE_UNASSIGNED and node >= self.machine.numa.num_nodes:
            raise CoreError(M.PXB_ILLEGAL_NUMA_NODE.format(node))
        # pxb_register_bus
        if bus.owner is not None:
            raise CoreError(M.PXB_ONLY_ROOT_BUS)
        for dev in bus_devices(self.machine, bus):
            if not isinstance(dev, PXB) and not device_buses(dev):
                continue
            # pci_bus_num of the root bus's child buses: an expander's
            # bus_nr, a bridge's secondary bus number (0 until a firmware
            # numbers the buses).
            number = dev.bus_nr if isinstance(dev, PXB) else 0
            if number == self.bus_nr:
                raise CoreError(M.PXB_BUS_IN_USE.format(self.bus_nr))
        self.devfn = devfn
        if self.root_bus_type is None:
            return
        self.bus_name = self.id if self.id else automatic_bus_name(self.machine, self.root_bus_type)
        host = self.host_type()
        machine = self.machine
        machine.unattached.add_child(f"device[{machine.unattached_counter}]", host)
        machine.unattached_counter += 1
        host.add_child(self.bus_name, self.bus_object())
        self.host_bridge = host


class PXBPCIe(PXB):
    """``pxb-pcie``: a PCIe host bridge with its root bus."""

    express = True
    wrong_bus_text = M.PXB_PCIE_ON_PCI_BUS
    root_bus_type = "pxb-pcie-bus"


class PXBCXL(PXB):
    """``pxb-cxl``: a CXL host bridge with its root bus."""

    express = True
    wrong_bus_text = M.PXB_CXL_ON_PCI_BUS
    root_bus_type = "pxb-cxl-bus"
    host_type = PXBCXLHost
    bus_object = PXBCXLBusObject
