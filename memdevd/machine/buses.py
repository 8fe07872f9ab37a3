"""qdev buses the memory devices care about (hw/core/bus.c, hw/pci).

A pc machine has the hotpluggable PCI root bus ``pci.0``; q35 has the PCIe
root bus ``pcie.0``, which refuses hot-plug, and a ``pcie-root-port``
device adds a hotpluggable PCIe bus named after the port's id.  pc-dimm
and nvdimm sit on no bus at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device

# Bus type names and their parents (TYPE_PCIE_BUS is a TYPE_PCI_BUS).
BUS_PARENTS = {
    "PCIE": ("PCIE", "PCI", "bus"),
    "PCI": ("PCI", "bus"),
    "System": ("System", "bus"),
    "ISA": ("ISA", "bus"),
}


@record
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


# main-system-bus (hw/core/sysbus.c): sysbus devices such as vmbus-bridge sit on
# it; it has no hotplug handler, so it refuses device_add and device_del.
SYSTEM_BUS = Bus("main-system-bus", "System", False)


def machine_buses(machine: Machine) -> list[Bus]:
    """Every bus: the board's root bus, the system bus, the board's other
    buses (x86: isa.0), then those of devices (root ports), in that order."""
    board_buses = machine.config.board.buses(machine)
    buses = [*board_buses[:1], SYSTEM_BUS, *board_buses[1:]]
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


# --- PCI slot bookkeeping (hw/pci/pci.c) ------------------------------------------
#
# QEMU keeps ``bus->devices[devfn]`` per PCI bus; memdevd derives the same
# table from the realized devices (a PCI device has ``devfn`` >= 0 and sits
# on ``parent_bus``) plus the functions the board itself puts on its root bus.

PCI_FUNC_MAX = 8
PCI_DEVFN_MAX = 256


@record(frozen=True)
class PCIFunction:
    """One occupied ``bus->devices[devfn]`` entry."""

    devfn: int
    # pci_dev->name: the QOM type name QEMU registered the function with.
    name: str
    id: str | None = None
    # QEMU_PCI_CAP_MULTIFUNCTION (the "multifunction" property).
    multifunction: bool = False


def pci_slot(devfn: int) -> int:
    """``PCI_SLOT``: also for the unset devfn -1, which reads as slot 31."""
    return (devfn >> 3) & 0x1F


def pci_func(devfn: int) -> int:
    return devfn & 0x07


def pci_bus_functions(machine: Machine, bus: Bus) -> dict[int, PCIFunction]:
    """``bus->devices[]``: devfn -> occupant, board functions included."""
    table: dict[int, PCIFunction] = {}
    if bus.owner is None:
        for fn in machine.config.board.root_pci_functions(machine):
            table[fn.devfn] = fn
    for dev in machine.devices():
        devfn = getattr(dev, "devfn", -1)
        if dev.parent_bus == bus.name and isinstance(devfn, int) and devfn >= 0:
            table[devfn] = PCIFunction(
                devfn, dev.typename, dev.id, bool(getattr(dev, "multifunction", False))
            )
    return table


def pci_register_devfn(
    machine: Machine,
    bus: Bus,
    name: str,
    requested: int,
    *,
    hotplugged: bool,
    multifunction: bool,
) -> int:
    """``do_pci_register_device`` + ``pci_init_multifunction``: the devfn to use.

    ``requested`` is the ``addr`` property (-1: first free slot).  Checks
    only; the caller stores the result once the whole realize succeeded.
    """
    devices = pci_bus_functions(machine, bus)
    devfn = requested
    if requested < 0:
        for candidate in range(0, PCI_DEVFN_MAX, PCI_FUNC_MAX):
            if candidate not in devices:
                devfn = candidate
                break
        else:
            raise CoreError(M.PCI_NO_FREE_DEVFN.format(name))
    elif requested in devices:
        other = devices[requested]
        raise CoreError(
            M.PCI_DEVFN_IN_USE.format(
                pci_slot(requested), pci_func(requested), name, other.name, other.id or "(null)"
            )
        )
    # "Populating function 0 triggers a scan from the guest": a hot-plugged
    # function must not join a populated slot.  7.2 checks this only for an
    # explicit addr; 10.0 always, and looks the slot up from the *property*
    # (pci_dev->devfn is still -1 for an automatic addr, i.e. slot 31).
    if hotplugged and (requested >= 0 or machine.release.pcie_slot_occupied_check):
        if bus.owner is not None and bus.owner.is_a("pcie-root-port"):
            # pcie_has_upstream_port(): a port's bus has a single slot.
            function_0 = devices.get(0)
        else:
            function_0 = devices.get(pci_slot(requested) << 3)
        if function_0 is not None:
            raise CoreError(
                M.PCI_FUNCTION_0_OCCUPIED.format(pci_slot(function_0.devfn), function_0.name, name)
            )
    slot = pci_slot(devfn)
    if pci_func(devfn):
        f0 = devices.get(slot << 3)
        if f0 is not None and not f0.multifunction:
            raise CoreError(M.PCI_SINGLE_FUNCTION_DEVICE.format(slot, pci_func(devfn)))
    elif not multifunction:
        for func in range(1, PCI_FUNC_MAX):
            if (slot << 3 | func) in devices:
                raise CoreError(M.PCI_FUNCTION_0_SINGLE.format(slot, slot, func))
    return devfn


def bus_canonical_path(machine: Machine, bus: Bus) -> str:
    """The QOM path of a bus (what a device's ``parent_bus`` link reads)."""
    if bus.owner is not None:
        return f"{bus.owner.canonical_path()}/{bus.name}"
    path = machine.config.board.bus_path(machine, bus)
    return path if path is not None else f"/machine/{bus.name}"
