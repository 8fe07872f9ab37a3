"""qdev buses (hw/core/bus.c, system/qdev-monitor.c, hw/pci).

A pc machine has the hotpluggable PCI root bus ``pci.0``; q35 has the PCIe
root bus ``pcie.0``, which refuses hot-plug, and a ``pcie-root-port``
device adds a hotpluggable PCIe bus named after the port's id.  pc-dimm
and nvdimm sit on no bus at all.  Controllers own the buses disks, USB
devices and virtio-serial ports sit on (:mod:`memdevd.machine.qbus`); the
board's own (pc's IDE, q35's AHCI) hang off the root bus.

:func:`find_bus` and :func:`default_bus` are QEMU's ``qbus_find`` and
``qbus_find_recursive``: a depth-first walk of the bus tree where a bus
lists its devices newest first and a device its buses newest first (both
are inserted at the head of their lists), so ``-device ide-hd`` without
``bus=`` lands on q35's ``ide.5``, as in QEMU.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device

# Bus type names and their parents (TYPE_PCIE_BUS is a TYPE_PCI_BUS).
BUS_PARENTS = {
    "PCIE": ("PCIE", "PCI", "bus"),
    # A cxl-rp's secondary bus, the expanders' root buses.
    "CXL": ("CXL", "PCIE", "PCI", "bus"),
    "pxb-cxl-bus": ("pxb-cxl-bus", "CXL", "PCIE", "PCI", "bus"),
    "pxb-pcie-bus": ("pxb-pcie-bus", "PCIE", "PCI", "bus"),
    "PCI": ("PCI", "bus"),
    "System": ("System", "bus"),
    "ISA": ("ISA", "bus"),
    "IDE": ("IDE", "bus"),
    "SCSI": ("SCSI", "bus"),
    "usb-bus": ("usb-bus", "bus"),
    "virtio-serial-bus": ("virtio-serial-bus", "bus"),
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
    # The bus's QOM object and device list (machine/qbus.py), for the
    # buses controllers own; None for the PCI, ISA and system buses.
    qbus: Any = None

    def is_a(self, typename: str) -> bool:
        return typename in BUS_PARENTS.get(self.bus_typename, (self.bus_typename,))


# main-system-bus (hw/core/sysbus.c): sysbus devices such as vmbus-bridge sit on
# it; it has no hotplug handler, so it refuses device_add and device_del.
SYSTEM_BUS = Bus("main-system-bus", "System", False)


def machine_buses(machine: Machine) -> list[Bus]:
    """Every bus, in ``qbus_find_recursive``'s order of visit (see the
    module docstring)."""
    return list(_walk(machine))


def _walk(machine: Machine) -> Iterator[Bus]:
    """Depth first from main-system-bus: the devices users put there
    (newest first), then the host bridge's root bus, where the users'
    devices come before the board's own (the oldest): its controllers'
    buses (newest first) and the south bridge's ISA bus, whose board
    floppy controller comes after the users' ISA devices."""
    board = machine.config.board
    board_buses = board.buses(machine)
    yield SYSTEM_BUS
    # The expanders' host bridges are sysbus devices too, newer than the
    # board's: their root buses come first, mixed with the users' sysbus
    # devices by age.
    for dev in reversed(machine.devices()):
        if getattr(dev, "host_bridge", None) is not None:
            child = getattr(dev, "child_bus", None)
            if isinstance(child, Bus):
                yield child
                yield from _subtree_below(machine, child)
        elif _on(dev, SYSTEM_BUS) and getattr(dev, "parent_qbus", None) is None:
            for child in device_buses(dev):
                yield child
                yield from _subtree_below(machine, child)
    if board_buses:
        root = board_buses[0]
        yield root
        yield from _subtree_below(machine, root)
    # The board's floppy controller sits on its ISA bus, older than any
    # device a user put there.
    on_isa = [q for q in machine.board_qbuses if q.bus_type == "floppy-bus"]
    for qbus in reversed(machine.board_qbuses):
        if qbus in on_isa:
            continue
        yield qbus.record
        yield from _subtree_below(machine, qbus.record)
    for bus in board_buses[1:]:
        yield bus
        yield from _subtree_below(machine, bus)
        if bus.is_a("ISA"):
            for qbus in on_isa:
                yield qbus.record
                yield from _subtree_below(machine, qbus.record)


def _subtree_below(machine: Machine, bus: Bus) -> Iterator[Bus]:
    for dev in bus_devices(machine, bus):
        for child in device_buses(dev):
            yield child
            yield from _subtree_below(machine, child)


def bus_devices(machine: Machine, bus: Bus) -> list[Device]:
    """The realized devices on ``bus``, newest first (``bus->children``)."""
    if bus.qbus is not None:
        on_bus: list[Device] = bus.qbus.devices()
        return on_bus
    return [
        dev
        for dev in reversed(machine.devices())
        if _on(dev, bus) and getattr(dev, "parent_qbus", None) is None
    ]


def _on(dev: Device, bus: Bus) -> bool:
    return dev.parent_bus == bus.name and dev.parent_bus_owner is bus.owner


def device_buses(dev: Device) -> list[Bus]:
    """The buses a device owns, newest first (``dev->child_bus``).

    An expander's root bus is its host bridge's, not the PCI function's."""
    buses: list[Bus] = []
    if getattr(dev, "host_bridge", None) is not None:
        return buses
    for qbus in reversed(getattr(dev, "qbuses", ())):
        buses.append(qbus.record)
    bus = getattr(dev, "child_bus", None)
    if isinstance(bus, Bus):
        buses.append(bus)
    return buses


def find_recursive(machine: Machine, name: str | None, bus_type: str | None) -> Bus | None:
    """``qbus_find_recursive(sysbus, name, type)``: the first match.

    No bus memdevd has is ever full (``max_dev``), so the first match is
    the answer."""
    for bus in _walk(machine):
        if name is not None and bus.name == name:
            return bus
        if name is None and bus_type is not None and bus.is_a(bus_type):
            return bus
    return None


def find_bus(machine: Machine, path: str) -> Bus:
    """``qbus_find``: "bus", "bus/device", "bus/device/bus"..."""
    if path.startswith("/"):
        # An absolute path starts at the system bus, whose board devices
        # memdevd does not model: the last element names the bus.
        name = path.strip("/").rsplit("/", 1)[-1]
        for bus in _walk(machine):
            if bus.name == name:
                return bus
        raise CoreError(M.BUS_NOT_FOUND.format(name))
    elems = [e for e in path.split("/")]
    first = elems[0]
    found = find_recursive(machine, first, None)
    if found is None:
        raise CoreError(M.BUS_NOT_FOUND.format(first))
    bus = found
    rest = [e for e in elems[1:] if e]
    while rest:
        elem = rest.pop(0)
        dev = _find_dev(machine, bus, elem)
        if dev is None:
            from memdevd.machine.errors import not_found

            raise not_found(M.DEVICE_NOT_FOUND.format(elem))
        children = device_buses(dev)
        if not rest:
            if len(children) == 1:
                bus = children[0]
                break
            if children:
                raise CoreError(M.DEVICE_HAS_MULTIPLE_CHILD_BUSES.format(elem))
            raise CoreError(M.DEVICE_HAS_NO_CHILD_BUS.format(elem))
        elem = rest.pop(0)
        match = next((b for b in children if b.name == elem), None)
        if match is None:
            raise CoreError(M.BUS_NOT_FOUND.format(elem))
        bus = match
    return bus


def _find_dev(machine: Machine, bus: Bus, elem: str) -> Device | None:
    """``qbus_find_dev``: by id, then by type name."""
    devices = bus_devices(machine, bus)
    for dev in devices:
        if dev.id == elem:
            return dev
    for dev in devices:
        if dev.typename == elem:
            return dev
    return None


def default_bus(machine: Machine, bus_type: str) -> Bus | None:
    """``qbus_find_recursive(sysbus, NULL, type)``: the first bus of that type."""
    return find_recursive(machine, None, bus_type)


def bus_of(machine: Machine, dev: Device) -> Bus | None:
    qbus = getattr(dev, "parent_qbus", None)
    if qbus is not None:
        record: Bus = qbus.record
        return record
    if dev.parent_bus is None:
        return None
    for bus in _walk(machine):
        # Two buses may share a name (an id-less root port's "pcie.0" and
        # q35's): the owner tells them apart.
        if bus.name == dev.parent_bus and bus.qbus is None and bus.owner is dev.parent_bus_owner:
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
        if _on(dev, bus) and isinstance(devfn, int) and devfn >= 0:
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
        from memdevd.machine.devices.pcie_root_port import behind_pcie_slot

        if behind_pcie_slot(bus):
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
    if bus.qbus is not None:
        path_of: str = bus.qbus.path()
        return path_of
    if bus.owner is not None:
        # An expander's root bus is its host bridge's child (pxb-cxl).
        host = getattr(bus.owner, "host_bridge", None)
        owner = host if host is not None else bus.owner
        return f"{owner.canonical_path()}/{bus.name}"
    path = machine.config.board.bus_path(machine, bus)
    return path if path is not None else f"/machine/{bus.name}"
