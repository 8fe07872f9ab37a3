"""PCI devices: the qdev side of hw/pci/pci.c, ACPI PCI hot-unplug, pcie-root-port.

:class:`PCIDevice` is what every PCI device shares in QEMU (``TYPE_PCI_DEVICE``):
the ``addr`` property (the devfn, parsed as ``set_pci_devfn`` does),
``multifunction``, ``legacy-addr``, the ``parent_bus`` link, a
``hotpluggable`` that also asks the bus, and the devfn choice at realize
(``do_pci_register_device``, via :func:`memdevd.machine.buses.pci_register_devfn`).

:class:`PciAcpiHotplug` is the hot-unplug behaviour of the buses memdevd
has (pc's ``pci.0`` and q35's root ports use ACPI PCI hot-plug,
hw/acpi/pcihp.c): ``device_del`` marks the device as being unplugged and
asks the guest to eject it; only a guest completes it.

:class:`PassivePCIDevice` is the base of PCI devices memdevd only places
(USB controllers, the virtio balloon's PCI side).

:class:`PCIERootPort` is ``pcie-root-port`` (hw/pci-bridge/gen_pcie_root_port.c
and pcie_root_port.c): a PCI device on the root bus that adds a hot-pluggable
PCIe bus named after its id, with a single slot.
"""

from __future__ import annotations

import string
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.buses import Bus, bus_canonical_path, bus_of, pci_register_devfn
from memdevd.machine.errors import CoreError
from memdevd.machine.guest import GuestAction
from memdevd.machine.qdev import Device, parse_bool, static_prop
from memdevd.machine.qom import Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor, VisitError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

# How often a guest that cannot act now (paused VM, guest "none") is looked
# at again; see PciAcpiHotplug and the virtio-mem driver.
# Linux errno values QEMU prints.
EBUSY = 16


class BusObject(QOMObject):
    """A qdev bus as the QOM child of its parent device (``.../rp0/rp0``)."""

    def class_props(self) -> list[Prop]:
        return [Prop("realized", "bool", lambda o: True, None)]


class PCIEBusObject(BusObject):
    type_chain = ("PCIE", "PCI", "bus", "object")


class VirtioPCIBusObject(BusObject):
    type_chain = ("virtio-pci-bus", "virtio-bus", "bus", "object")


# --- the generic PCI device -------------------------------------------------------


class PCIDevice(Device):
    """``TYPE_PCI_DEVICE``'s qdev properties and devfn assignment."""

    type_chain: ClassVar[tuple[str, ...]] = ("pci-device", "device", "object")
    abstract = True
    bus_type = "PCI"
    # The hotplug handler hw/core/qdev.c finds for it (machine or bus).
    hotplug_handler: ClassVar[type[PciAcpiHotplug] | None] = None

    def guest_wakeup(self) -> None:
        """Machine.guest_wakeup(): retry a pending eject request."""
        _pci_guest_wakeup(self)

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        # The "addr" property: -1 until realize picks a free devfn.
        self.devfn = -1
        self.multifunction = False
        # qmp_device_del's pending_deleted_event / pending_deleted_expires_ms
        # (the latter only matters as "0", see PciAcpiHotplug).
        self.pending_deleted_event = False
        self.pending_deleted_expires_zero = False
        self.eject_timer: GuestAction | None = None
        # Native PCIe hot-plug (Board.pcie_native_hotplug): the power of the
        # slot it sits in (pcie_cap_slot_reset, the guest's power control).
        self.slot_powered = True

    def guest_cancel(self) -> None:
        """Machine.guest_reconfigured(): forget the guest's pending reaction."""
        if self.eject_timer is not None:
            self.eject_timer.cancel()
            self.eject_timer = None

    def static_props(self) -> list[Prop]:
        return [
            Prop(
                "addr",
                "int32",
                lambda o: _pci(o).devfn,
                _set_pci_devfn,
                "Slot and optional function number, example: 06.0 or 06",
                static=True,
                default=-1,
                has_default=True,
            ),
            static_prop("multifunction", "bool", "multifunction", parse_bool, default=False),
        ]

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            # Later entries win: the bus decides hotpluggable too.
            Prop("hotpluggable", "bool", lambda o: _pci(o).is_hotpluggable(), None),
            Prop("parent_bus", "link<bus>", lambda o: _pci(o).parent_bus_path(), None),
            *(
                [Prop("legacy-addr", "str", lambda o: _pci(o).legacy_addr(), None)]
                if self.machine.release.pci_legacy_addr
                else []
            ),
        ]

    # -- qdev helpers -------------------------------------------------------------

    def pci_bus(self) -> Bus | None:
        return bus_of(self.machine, self)

    def is_hotpluggable(self) -> bool:
        """``device_get_hotpluggable``: the class and the bus must allow it."""
        bus = self.pci_bus()
        return type(self).hotpluggable and (bus is None or bus.hotpluggable)

    def parent_bus_path(self) -> str:
        bus = self.pci_bus()
        return bus_canonical_path(self.machine, bus) if bus is not None else ""

    def legacy_addr(self) -> str:
        """``print_pci_devfn``'s legacy form: ``"02.0"``."""
        if self.devfn < 0:
            return "<unset>"
        return f"{self.devfn >> 3:02x}.{self.devfn & 7:x}"

    def pci_realize(self) -> int:
        """``do_pci_register_device``: the devfn this device will get (checks only)."""
        bus = self.pci_bus()
        assert bus is not None, "device_add gives every PCI device a bus"
        owner = bus.owner
        expander = owner is not None and getattr(owner, "host_bridge", None) is not None
        if expander and not self.is_a("base-pci-bridge"):
            # An expander's root bus (pxb-pcie, pxb-cxl) takes bridges only.
            assert owner is not None
            raise CoreError(M.PCI_ONLY_BRIDGES.format(owner.typename))
        return pci_register_devfn(
            self.machine,
            bus,
            self.typename,
            self.devfn,
            hotplugged=self.machine.machine_ready,
            multifunction=self.multifunction,
        )


def _pci(obj: QOMObject) -> PCIDevice:
    assert isinstance(obj, PCIDevice)
    return obj


def _scan_hex(text: str, pos: int) -> tuple[int, int] | None:
    """One ``%x`` conversion of sscanf: (value as unsigned int, end) or None."""
    i = pos
    while i < len(text) and text[i] in " \t\n\v\f\r":
        i += 1
    negative = False
    if i < len(text) and text[i] in "+-":
        negative = text[i] == "-"
        i += 1
    after = text[i + 2 : i + 3]
    if text[i : i + 2].lower() == "0x" and len(after) == 1 and after in string.hexdigits:
        i += 2
    start = i
    while i < len(text) and text[i] in string.hexdigits:
        i += 1
    if i == start:
        return None
    value = int(text[start:i], 16)
    return (-value if negative else value) & 0xFFFFFFFF, i


def parse_pci_devfn(text: str) -> int | None:
    """``set_pci_devfn``'s string form: ``"slot[.fn]"`` in hex, or None if invalid."""
    first = _scan_hex(text, 0)
    if first is None:
        return None
    slot, end = first
    fn = 0
    if end < len(text) and text[end] == ".":
        second = _scan_hex(text, end + 1)
        if second is not None:
            fn, end = second
    if end != len(text) or fn > 7 or slot > 31:
        return None
    return slot << 3 | fn


def _set_pci_devfn(obj: QOMObject, v: InputVisitor, name: str) -> None:
    """``set_pci_devfn``: a string "slot.fn" first, else an int32 in [-1, 255]."""
    dev = _pci(obj)
    dev.check_settable(name)
    try:
        # QEMU tries visit_type_str and ignores its error; QemuOpts values
        # (7.2's device_add) are always strings, so "16" means slot 0x16.
        text = v.type_str(name)
    except VisitError:
        value = v.type_int(name, "int32")
        if value < -1 or value > 255:
            raise CoreError(M.INVALID_PARAMETER_VALUE.format(name, M.PCI_DEVFN_RANGE)) from None
        dev.devfn = value
        return
    devfn = parse_pci_devfn(text)
    if devfn is None:
        raise CoreError(M.PROPERTY_DOESNT_TAKE_VALUE.format(dev.typename, name, text))
    dev.devfn = devfn


# --- ACPI PCI hot-unplug (hw/acpi/pcihp.c) -----------------------------------------


def _pci_guest_wakeup(dev: PCIDevice) -> None:
    """A pending eject request is retried when the guest may act again."""
    if dev.pending_deleted_event and dev.eject_timer is None and dev.realized:
        handler = dev.hotplug_handler(dev.machine) if dev.hotplug_handler else None
        if isinstance(handler, PciAcpiHotplug):
            handler.request_eject(dev)


class PciAcpiHotplug:
    """The bus hotplug handler of ``pci.0`` (pc) and of q35's root ports,
    and of the root ports of a board with native PCIe hot-plug (arm virt,
    ``Board.pcie_native_hotplug``), where a device in a slot no guest has
    powered on is unplugged at once.

    Plugging needs nothing from it for the devices memdevd has.  An unplug
    request (``acpi_pcihp_device_unplug_request_cb``) sets the device's
    ``pending_deleted_event`` with an expiry of "now" on QEMU_CLOCK_VIRTUAL,
    then raises an ACPI event.  ``qmp_device_del`` refuses a second request
    while the expiry is 0 or in the future: the virtual clock reads 0 until
    the VM first runs (``-S``), so before the first ``cont`` a repeated
    ``device_del`` fails with "already in the process of unplug", later it
    re-sends the request (verified on QEMU 10.0, see test_virtio_mem.py).

    The simulated guest ejects the slot (``acpi_pcihp_eject_slot``) once it
    runs: after ``slow``'s delay, never with ``none`` or ``refuse``.
    """

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def pre_plug(self, dev: Device) -> None:
        # acpi_pcihp_device_pre_plug_cb refuses only buses without a bsel,
        # which memdevd's buses always have.
        return None

    def commit(self, dev: Device, decided: Any) -> None:
        return None

    def plug(self, dev: Device) -> None:
        if self.machine.config.board.pcie_native_hotplug:
            # pcie_cap_slot_reset() powers a slot on only if it is populated
            # at reset; a hot-added device's slot stays off until a running
            # guest turns it on (pcie_cap_slot_plug_cb raises the event).
            guest = self.machine.guest.config_for(dev)
            running = guest.active and self.machine.running
            _pci(dev).slot_powered = not dev.hotplugged or running
        return None

    def check_not_pending(self, dev: PCIDevice) -> None:
        """``qmp_device_del``'s check (id printed as the client gave it in QEMU)."""
        if dev.pending_deleted_event and dev.pending_deleted_expires_zero:
            raise CoreError(M.DEVICE_UNPLUG_IN_PROGRESS.format(dev.id or dev.canonical_path()))

    def unplug_request(self, dev: Device) -> None:
        pci = _pci(dev)
        self.check_not_pending(pci)
        self.request_eject(pci)

    def request_eject(self, dev: PCIDevice) -> None:
        if self.machine.config.board.pcie_native_hotplug and not dev.slot_powered:
            # pcie_cap_slot_unplug_request_cb: a powered-off slot is
            # unplugged at once (native PCIe hot-plug, arm virt).
            self.eject(dev)
            return
        dev.pending_deleted_event = True
        dev.pending_deleted_expires_zero = self.machine.runstate == "prelaunch"
        if dev.eject_timer is None:
            config = self.machine.guest.config_for(dev)
            dev.eject_timer = self.machine.guest.after(config, partial(self._eject, dev))

    def _eject(self, dev: PCIDevice) -> None:
        dev.eject_timer = None
        if not dev.realized:
            return
        guest = self.machine.guest.config_for(dev)
        if not (guest.active and self.machine.running) or guest.mode == "refuse":
            # Nobody to eject now; PCIDevice.guest_wakeup() tries again.
            return
        self.eject(dev)

    def eject(self, dev: PCIDevice) -> None:
        """``acpi_pcihp_eject_slot``: unplug and unparent (children first)."""
        bus = getattr(dev, "child_bus", None)
        if isinstance(bus, Bus):
            for child in self.machine.devices():
                if (
                    child.parent_bus == bus.name
                    and child.parent_bus_owner is dev
                    and child.realized
                ):
                    self.machine.remove_device(child)
        self.machine.remove_device(dev)

    def unplug(self, dev: Device) -> None:
        pci = _pci(dev)
        if pci.eject_timer is not None:
            pci.eject_timer.cancel()
            pci.eject_timer = None


# --- placed, not emulated --------------------------------------------------------------


class PassivePCIDevice(PCIDevice):
    """A PCI device memdevd places and lists but whose function it does not
    emulate (USB controllers, the balloon's PCI side)."""

    abstract = False
    hotplug_handler = PciAcpiHotplug

    def realize(self) -> None:
        self.devfn = self.pci_realize()


# --- pcie-root-port ------------------------------------------------------------------


def _parse_uint8(v: InputVisitor, name: str) -> int:
    return v.type_int(name, "uint8")


def _parse_uint16(v: InputVisitor, name: str) -> int:
    return v.type_int(name, "uint16")


def _next_pcie_bus_name(machine: Machine) -> str:
    """BusClass automatic_ids of TYPE_PCIE_BUS: "pcie.N" for id-less ports' buses.

    The root bus is named explicitly, so the first is "pcie.0" again.
    """
    n = machine.bus_automatic_ids.get("PCIE", 0)
    machine.bus_automatic_ids["PCIE"] = n + 1
    return f"pcie.{n}"


def pcie_slot_ids(machine: Machine, me: Device) -> set[tuple[int, int]]:
    """The (chassis, slot) pairs of the realized PCIe slots but ``me``
    (``pcie_chassis_find_slot``: root and downstream ports alike)."""
    ids: set[tuple[int, int]] = set()
    for other in machine.devices():
        if other is me or not other.realized:
            continue
        if isinstance(other, PCIERootPort):
            ids.add((other.chassis, other.slot))
        elif getattr(other, "is_pcie_slot", False):
            ids.add(other.slot_ids)  # type: ignore[attr-defined]
    return ids


def behind_pcie_slot(bus: Bus) -> bool:
    """``pcie_has_upstream_port``: a root or downstream port's bus, whose
    only device number is 0."""
    owner = bus.owner
    return owner is not None and (
        isinstance(owner, PCIERootPort) or bool(getattr(owner, "is_pcie_slot", False))
    )


class PCIERootPort(PCIDevice):
    type_chain: ClassVar[tuple[str, ...]] = (
        "pcie-root-port",
        "pcie-root-port-base",
        "pcie-slot",
        "pcie-port",
        "base-pci-bridge",
        "pci-device",
        "device",
        "object",
    )
    interfaces: ClassVar[tuple[str, ...]] = ("pci-express-device",)
    abstract = False
    description = "PCI Express Root Port"
    hotplug_handler = PciAcpiHotplug

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.chassis = 0
        self.slot = 0
        self.port = 0
        self.hotplug = True
        self.bus_name: str | None = None

    def static_props(self) -> list[Prop]:
        return [
            *super().static_props(),
            static_prop("chassis", "uint8", "chassis", _parse_uint8, default=0),
            static_prop("slot", "uint16", "slot", _parse_uint16, default=0),
            static_prop("port", "uint8", "port", _parse_uint8, default=0),
            static_prop("hotplug", "bool", "hotplug", parse_bool, default=True),
        ]

    @property
    def child_bus(self) -> Bus | None:
        """The secondary PCIe bus; hot-pluggable unless ``hotplug=off``."""
        if self.bus_name is None:
            return None
        return Bus(self.bus_name, "PCIE", self.hotplug, owner=self)

    def realize(self) -> None:
        """``rp_realize``: devfn, secondary bus, chassis slot."""
        devfn = self.pci_realize()
        # pci_bridge_initfn(): the bus takes the port's id, else an automatic
        # name (the counter advances even if realize fails below, as in QEMU).
        bus_name = self.id if self.id else _next_pcie_bus_name(self.machine)
        if not self.machine.config.board.msi_supported(self.machine):
            # gen_rp_interrupts_init -> msix_init: msi_nonbroken is false.
            raise CoreError(M.MSIX_NOT_SUPPORTED)
        if (self.chassis, self.slot) in pcie_slot_ids(self.machine, self):
            raise CoreError(M.PCIE_CHASSIS_SLOT_FAILED.format(-EBUSY))
        self.devfn = devfn
        self.bus_name = bus_name
        self.add_child(bus_name, PCIEBusObject())
