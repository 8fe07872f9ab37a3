"""PCI-to-PCI bridges of the catalog with their secondary bus (hw/pci/pci_bridge.c).

``pci-bridge``, ``pci-bridge-seat``, ``pcie-pci-bridge`` and
``i82801b11-bridge`` are catalog devices (properties and checks as
recorded) that, like QEMU's ``pci_bridge_initfn``, add a conventional PCI
bus of 32 slots named after the bridge's id (else ``pci.N``, the PCI bus
class's automatic ids), on which ``bus=`` places devices.  A bridge
cold-plugged on an ACPI machine has the ACPI PCI hot-plug handler on its
bus (``acpi_pcihp_device_plug_cb``), which is what memdevd models for all
of them; ``query-pci`` shows the bridge with bus numbers 0, so none of
its devices, until a firmware numbers the buses (memdevd has none).

The catalog's PCI Express ports are in :mod:`memdevd.machine.devices.pcie_switch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine.buses import Bus
from memdevd.machine.devices.generic import CatalogPCIDevice
from memdevd.machine.devices.pcie_root_port import BusObject
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine


class PCIBusObject(BusObject):
    type_chain = ("PCI", "bus", "object")


def _next_pci_bus_name(machine: Machine) -> str:
    """BusClass automatic_ids of TYPE_PCI_BUS: pc's root bus took "pci.0"
    from it (an id-less bridge's bus is "pci.1" first); q35's root bus is
    a PCIe bus (its first is "pci.0")."""
    first = 1 if machine.config.board.root_bus_type == "PCI" else 0
    n = machine.bus_automatic_ids.get("PCI", first)
    machine.bus_automatic_ids["PCI"] = n + 1
    return f"pci.{n}"


class CatalogPCIBridge(CatalogPCIDevice):
    """A catalog bridge with its secondary bus."""

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.bus_name: str | None = None

    @property
    def child_bus(self) -> Bus | None:
        if self.bus_name is None:
            return None
        return Bus(self.bus_name, "PCI", True, owner=self)

    def realize(self) -> None:
        """``pci_qdev_realize``: the devfn, then the bridge's realize
        (``pci_bridge_initfn`` names the bus), then the rest."""
        super().realize()
        bus_name = self.id if self.id else _next_pci_bus_name(self.machine)
        if self.typename in ("pci-bridge", "pci-bridge-seat"):
            # pci_bridge_dev_realize: the slot id capability, the reserves.
            if not self.values.get("chassis_nr", 0):
                raise CoreError(M.BRIDGE_CHASSIS_NOT_SPECIFIED)
            check_reserve_cap(self.values)
        self.bus_name = bus_name
        self.add_child(self.bus_name, PCIBusObject())


_UNSET64 = (1 << 64) - 1
_GiB = 1 << 30


def check_reserve_cap(values: dict[str, object]) -> None:
    """``pci_bridge_qemu_reserve_cap_init``'s checks (unset reserves are -1)."""

    def reserve(name: str) -> int:
        value = values.get(name, _UNSET64)
        return int(value) & _UNSET64 if isinstance(value, int) else _UNSET64

    pref32, pref64 = reserve("pref32-reserve"), reserve("pref64-reserve")
    mem = reserve("mem-reserve")
    if pref32 != _UNSET64 and pref64 != _UNSET64:
        raise CoreError(M.RESERVE_CAP_PREF_CONFLICT)
    if mem != _UNSET64 and mem >= 4 * _GiB:
        raise CoreError(M.RESERVE_CAP_MEM_TOO_BIG)
    if pref32 != _UNSET64 and pref32 >= 4 * _GiB:
        raise CoreError(M.RESERVE_CAP_PREF32_TOO_BIG)
