"""qdev buses the memory devices care about (hw/core/bus.c, hw/pci).

A pc machine has the hotpluggable PCI root bus ``pci.0``; q35 has the PCIe
root bus ``pcie.0``, which refuses hot-plug, and a ``pcie-root-port``
device adds a hotpluggable PCIe bus named after the port's id.  pc-dimm
and nvdimm sit on no bus at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device

# Bus type names and their parents (TYPE_PCIE_BUS is a TYPE_PCI_BUS).
BUS_PARENTS = {"PCIE": ("PCIE", "PCI", "bus"), "PCI": ("PCI", "bus"), "System": ("System", "bus")}


@dataclass
class Bus:
    name: str
    bus_typename: str
    hotpluggable: bool
    # Device owning the bus (a root port), None for root buses.
    owner: Device | None = None
    # PCI slots 0..31: which are taken (devfn >> 3).
    max_devices: int = 32

    def is_a(self, typename: str) -> bool:
        return typename in BUS_PARENTS.get(self.bus_typename, (self.bus_typename,))


def machine_buses(machine: Machine) -> list[Bus]:
    board = machine.config.board
    buses = [Bus(board.root_bus, board.root_bus_type, board.root_bus_hotpluggable)]
    for dev in machine.devices():
        bus = getattr(dev, "child_bus", None)
        if isinstance(bus, Bus):
            buses.append(bus)
    return buses


def find_bus(machine: Machine, path: str) -> Bus:
    """``qbus_find`` for the bus names memdevd has."""
    name = path.strip("/").split("/")[0] if not path.startswith("/") else path.strip("/")
    for bus in machine_buses(machine):
        if bus.name == name:
            return bus
    raise CoreError(M.BUS_NOT_FOUND.format(name))


def default_bus(machine: Machine, bus_type: str) -> Bus | None:
    """``qbus_find_recursive(sysbus, NULL, type)``: the first bus of that type."""
    for bus in machine_buses(machine):
        if bus.is_a(bus_type):
            return bus
    return None


def bus_of(machine: Machine, dev: Device) -> Bus | None:
    if dev.parent_bus is None:
        return None
    for bus in machine_buses(machine):
        if bus.name == dev.parent_bus:
            return bus
    return None
