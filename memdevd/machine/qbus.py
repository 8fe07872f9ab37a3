"""Buses that controllers own, with their devices (hw/core/bus.c and the bus types).

A :class:`QBus` is a qdev bus as QOM shows it: a child of the device that
owns it (``/machine/peripheral/scsi0/virtio-backend/scsi0.0``), listing
its devices as ``child[N]`` links (N counts up from 0 per bus and is never
reused), with the ``realized`` and ``hotplug-handler`` properties.  The
board's own controllers (pc's piix3-ide, q35's ich9-ahci) own buses too;
memdevd does not model those devices, so their buses have the path the
board gives them.

Each bus type keeps what its devices need to find their address:

* :class:`IDEBus` (hw/ide/qdev.c): a master and a slave, ``max_units`` of
  them (AHCI ports have one);
* :class:`SCSIBus` (hw/scsi/scsi-bus.c): channel, target and LUN limits
  of the controller (``SCSIBusInfo``) and ``check_address``;
* :class:`USBBus` (hw/usb/bus.c): the ports the controller registered,
  free and used in QEMU's list order, each with its speeds;
* :class:`VirtioSerialBus` (hw/char/virtio-serial-bus.c): the port-id
  bitmap (port 0 reserved for a console) and ``max_ports``;
* :class:`HDABus` (hw/audio/intel-hda.c): the next codec address;
* :class:`FloppyBus` (hw/block/fdc.c): the controller's two drive units.

Bus names are QEMU's (``qbus_init_internal``): the owner's id and the
number of buses it had so far (``ahci0.3``), else the lower-cased type
name and a counter per bus type (``ide.2``, ``usb-bus.0``) kept in
``machine.bus_automatic_ids``; or a name the owner gives (virtio-scsi and
virtio-serial name their bus ``<proxy id>.0``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.buses import Bus
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device


def automatic_bus_name(machine: Machine, owner: Device | None, bus_type: str, index: int) -> str:
    """``qbus_init_internal``'s name for a bus given none."""
    if owner is not None and owner.id:
        return f"{owner.id}.{index}"
    counter = machine.bus_automatic_ids.get(bus_type, 0)
    machine.bus_automatic_ids[bus_type] = counter + 1
    return f"{bus_type.lower()}.{counter}"


class QBus(QOMObject):
    """A bus owned by a device (or by the board), with its devices."""

    bus_type: ClassVar[str] = "bus"
    hotpluggable: ClassVar[bool] = True

    def __init__(
        self, machine: Machine, name: str, owner: Device | None, board_path: str = ""
    ) -> None:
        super().__init__()
        self.machine = machine
        self.bus_name = name
        self.owner = owner
        # The QOM path of a board bus (its owner is not modelled).
        self.board_path = board_path
        # bus->children, oldest first, with their child[N] index.
        self.kids: list[tuple[int, Device]] = []
        self.max_index = 0
        # child[N] links added (True) and removed, in order: QEMU's hash
        # table of the bus's properties.
        self.link_history: list[tuple[str, bool]] = []
        self.record = Bus(name, self.bus_type, self.hotpluggable, owner=owner, qbus=self)

    @property
    def type_chain(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.bus_type, "bus", "object")

    def class_props(self) -> list[Prop]:
        return [
            Prop("realized", "bool", lambda o: True, None),
            Prop("hotplug-handler", "link<hotplug-handler>", lambda o: _bus(o).handler_path()),
        ]

    def properties(self) -> list[Prop]:
        """qom-list: ``type``, ``realized`` (class properties), then the
        instance's ``hotplug-handler`` and ``child[N]`` links in reverse
        GLib hash order (``qmp_qom_list`` prepends what it iterates)."""
        from memdevd.machine.ghash import GHashOrder

        props = {p.name: p for p in super().properties()}
        table = GHashOrder()
        table.insert("hotplug-handler")
        for name, inserted in self.link_history:
            if inserted:
                table.insert(name)
            else:
                table.remove(name)
        own = [name for name in reversed(table.order()) if name in props]
        first = [p for name, p in props.items() if name not in own]
        return first + [props[name] for name in own]

    def handler_path(self) -> str:
        """What ``hotplug-handler`` links to: the bus itself, or nothing."""
        return self.path() if self.hotpluggable else ""

    def path(self) -> str:
        if self.parent is not None:
            return self.canonical_path()
        return self.board_path

    def devices(self) -> list[Device]:
        """The devices on the bus, newest first (QEMU inserts at the head)."""
        return [dev for _, dev in reversed(self.kids)]

    # -- qdev_set_parent_bus / bus_remove_child ------------------------------------

    def check_address(self, dev: Device) -> None:
        """``BusClass.check_address``: before the device joins the bus."""

    def add_kid(self, dev: Device) -> None:
        """``bus_add_child``: a ``child[N]`` link, N never reused."""
        index = self.max_index
        self.max_index += 1
        self.kids.append((index, dev))
        name = f"child[{index}]"
        self.add_prop(Prop(name, f"link<{dev.typename}>", _link_to(dev)))
        self.link_history.append((name, True))

    def remove_kid(self, dev: Device) -> None:
        for index, kid in self.kids:
            if kid is dev:
                self.kids.remove((index, kid))
                self._props.pop(f"child[{index}]", None)
                self.link_history.append((f"child[{index}]", False))
                return


def _link_to(dev: Device) -> Any:
    def getter(obj: QOMObject) -> str:
        return dev.canonical_path()

    return getter


def _bus(obj: QOMObject) -> QBus:
    assert isinstance(obj, QBus)
    return obj


# --- IDE --------------------------------------------------------------------------------


class IDEBus(QBus):
    """``TYPE_IDE_BUS``: no hotplug handler; units 0 (master) and 1 (slave)."""

    bus_type = "IDE"
    hotpluggable = False

    def __init__(
        self,
        machine: Machine,
        name: str,
        owner: Device | None,
        max_units: int,
        board_path: str = "",
    ) -> None:
        super().__init__(machine, name, owner, board_path)
        self.max_units = max_units
        self.units: dict[int, Device] = {}


# --- SCSI -------------------------------------------------------------------------------


class SCSIBus(QBus):
    """``TYPE_SCSI_BUS`` with the controller's ``SCSIBusInfo`` limits."""

    bus_type = "SCSI"

    def __init__(
        self,
        machine: Machine,
        name: str,
        owner: Device | None,
        limits: tuple[int, int, int],
    ) -> None:
        super().__init__(machine, name, owner)
        self.max_channel, self.max_target, self.max_lun = limits
        # scsi_bus_init(): bus->busnr = next_scsi_bus++ (what -drive if=scsi,bus= counts)
        self.busnr = machine.bus_automatic_ids.get("#scsi-busnr", 0)
        machine.bus_automatic_ids["#scsi-busnr"] = self.busnr + 1

    def handler_path(self) -> str:
        # virtio-scsi handles its bus's hot-plug; other controllers leave it
        # to the bus (qbus_set_bus_hotplug_handler).
        owner = self.owner
        if owner is not None and owner.is_a("virtio-scsi-common"):
            return owner.canonical_path()
        return self.path()

    def occupant(self, channel: int, target: int, lun: int) -> Device | None:
        """``scsi_bus_is_address_free``: the device at that address, if any."""
        for dev in self.devices():
            addr = getattr(dev, "scsi_address", None)
            if addr == (channel, target, lun):
                return dev
        return None

    def check_address(self, dev: Device) -> None:
        """``scsi_bus_check_address``."""
        values: dict[str, Any] = getattr(dev, "values", {})
        channel = int(values.get("channel", 0))
        target = _signed(values.get("scsi-id", -1))
        lun = _signed(values.get("lun", -1))
        if channel > self.max_channel:
            raise CoreError(M.SCSI_BAD_CHANNEL.format(channel))
        if target != -1 and target > self.max_target:
            raise CoreError(M.SCSI_BAD_ID.format(target))
        if lun != -1 and lun > self.max_lun:
            raise CoreError(M.SCSI_BAD_LUN.format(lun))
        if target != -1 and lun != -1:
            other = self.occupant(channel, target, lun)
            if other is not None:
                raise CoreError(M.SCSI_LUN_IN_USE.format(other.id or "(null)"))

    def assign(self, dev: Device) -> tuple[int, int, int]:
        """``scsi_qdev_realize``: the first free target, or LUN."""
        values: dict[str, Any] = getattr(dev, "values", {})
        channel = int(values.get("channel", 0))
        target = _signed(values.get("scsi-id", -1))
        lun = _signed(values.get("lun", -1))
        if target == -1:
            if lun == -1:
                lun = 0
            candidate = -1
            while True:
                candidate += 1
                free = self.occupant(channel, candidate, lun) is None
                if free or candidate >= self.max_target:
                    break
            if not free:
                raise CoreError(M.SCSI_NO_FREE_TARGET)
            target = candidate
        elif lun == -1:
            candidate = -1
            while True:
                candidate += 1
                free = self.occupant(channel, target, candidate) is None
                if free or candidate >= self.max_lun:
                    break
            if not free:
                raise CoreError(M.SCSI_NO_FREE_LUN)
            lun = candidate
        return channel, target, lun


def _signed(value: Any) -> int:
    """A uint32 property holding -1 (QEMU's "unset") reads as 4294967295."""
    number = int(value)
    return -1 if number in (-1, 0xFFFFFFFF) else number


# --- USB --------------------------------------------------------------------------------

USB_SPEED_MASK_LOW = 1
USB_SPEED_MASK_FULL = 2
USB_SPEED_MASK_HIGH = 4
USB_SPEED_MASK_SUPER = 8


def usb_speeds(mask: int) -> str:
    """``usb_mask_to_str``."""
    names = [
        name
        for bit, name in (
            (USB_SPEED_MASK_FULL, "full"),
            (USB_SPEED_MASK_HIGH, "high"),
            (USB_SPEED_MASK_SUPER, "super"),
        )
        if mask & bit
    ]
    return "+".join(names) or "unknown"


class USBPort:
    """A ``USBPort``: its path ("1", "1.2"), speeds and device."""

    def __init__(self, path: str, speedmask: int) -> None:
        self.path = path
        self.speedmask = speedmask
        self.dev: Device | None = None


class USBBus(QBus):
    """``TYPE_USB_BUS``: the bus is its own hotplug handler."""

    bus_type = "usb-bus"

    def __init__(self, machine: Machine, name: str, owner: Device | None, board_path: str = ""):
        super().__init__(machine, name, owner, board_path)
        # bus->free and bus->used, in QEMU's list order (tail insertion).
        self.free: list[USBPort] = []
        self.used: list[USBPort] = []

    def register_port(self, path: str, speedmask: int) -> None:
        self.free.append(USBPort(path, speedmask))

    def release(self, port: USBPort) -> None:
        """``usb_release_port``: back at the end of the free list."""
        if port in self.used:
            self.used.remove(port)
        port.dev = None
        self.free.append(port)


# --- virtio-serial ---------------------------------------------------------------------

#: VIRTIO_CONSOLE_BAD_ID
BAD_PORT_ID = 0xFFFFFFFF


class VirtioSerialBus(QBus):
    """``TYPE_VIRTIO_SERIAL_BUS``; the virtio-serial device handles hot-plug."""

    bus_type = "virtio-serial-bus"

    def __init__(self, machine: Machine, name: str, owner: Device | None, max_ports: int):
        super().__init__(machine, name, owner)
        self.max_ports = max_ports
        # ports_map: port 0 is reserved for a console at realize.
        self.ids_used: set[int] = {0}

    def handler_path(self) -> str:
        return self.owner.canonical_path() if self.owner is not None else ""

    def port_by_id(self, nr: int) -> Device | None:
        for dev in self.devices():
            if getattr(dev, "port_nr", None) == nr:
                return dev
        return None

    def free_id(self) -> int:
        """``find_free_port_id``: the first clear bit of the 32-bit words
        that cover max_ports (so it may lie beyond max_ports - 1)."""
        words = -(-self.max_ports // 32)
        for nr in range(words * 32):
            if nr not in self.ids_used:
                return nr
        return BAD_PORT_ID


# --- HDA ----------------------------------------------------------------------------------


class HDABus(QBus):
    """``TYPE_HDA_BUS`` (hw/audio/intel-hda.c): no hotplug handler; the
    codec address the next codec without ``cad`` takes."""

    bus_type = "HDA"
    hotpluggable = False

    def __init__(self, machine: Machine, name: str, owner: Device | None) -> None:
        super().__init__(machine, name, owner)
        self.next_cad = 0


# --- floppy -------------------------------------------------------------------------------

#: MAX_FD (hw/block/fdc-internal.h)
FLOPPY_MAX_UNITS = 2


class FloppyBus(QBus):
    """``TYPE_FLOPPY_BUS`` (hw/block/fdc.c): a floppy controller's two
    drives; no hotplug handler.  ``fallback`` is the controller's drive
    type for an ``auto`` drive without a medium it recognises."""

    bus_type = "floppy-bus"
    hotpluggable = False

    def __init__(
        self,
        machine: Machine,
        name: str,
        owner: Device | None,
        board_path: str = "",
        fallback: str = "288",
    ) -> None:
        super().__init__(machine, name, owner, board_path)
        self.units: dict[int, Device] = {}
        self.fallback = fallback


# --- the board's buses and -drive if=ide|scsi ------------------------------------------
#
# The API the -drive code uses: it records each ``-drive if=ide|scsi`` as a
# :class:`LegacyDrive` in ``machine.legacy_drives`` before the board is built
# (QEMU's DriveInfo table); the board then creates the IDE units
# (``pc_init1``/``pc_q35_init``: :func:`create_board_ide_drives`) and an
# lsi53c895a its SCSI units when realized (``scsi_bus_legacy_handle_cmdline``).
# A drive no device took is an orphan (``drive_check_orphaned``): its
# backend has no device (``BlockBackend.device is None``).


class LegacyDrive:
    """A ``-drive`` with ``if=ide``, ``if=scsi`` or ``if=floppy`` (DriveInfo): where it goes."""

    def __init__(self, interface: str, bus: int, unit: int, backend: str, cdrom: bool) -> None:
        self.interface = interface  # "ide", "scsi" or "floppy"
        self.bus = bus
        self.unit = unit
        # The BlockBackend's name (the drive's id, "ide0-hd0" by default).
        self.backend = backend
        # media=cdrom: ide-cd / scsi-cd rather than ide-hd / scsi-hd
        self.cdrom = cdrom


def board_ide_buses(machine: Machine) -> list[IDEBus]:
    """The board's IDE buses in order (pc: ide.0, ide.1; q35: AHCI ports
    ide.0..ide.5), as ``pcms->idebus`` and the AHCI ports list them."""
    return [bus for bus in machine.board_qbuses if isinstance(bus, IDEBus)]


def legacy_drive(machine: Machine, interface: str, bus: int, unit: int) -> LegacyDrive | None:
    """``drive_get(type, bus, unit)``."""
    drives: list[LegacyDrive] = machine.legacy_drives
    for drive in drives:
        if (drive.interface, drive.bus, drive.unit) == (interface, bus, unit):
            return drive
    return None


def create_legacy_device(
    machine: Machine,
    qbus: QBus,
    driver: str,
    props: dict[str, Any],
    name: str | None = None,
    blk: Any = None,
) -> Device:
    """A device the board (or a controller) makes for a ``-drive``: without
    an id, at ``/machine/unattached/device[N]``, or as the ``name`` child of
    its bus (``legacy[N]`` of SCSI); QEMU's error if it cannot realize."""
    from memdevd.machine.devices import device_class

    cls = device_class(driver, machine.config.board, machine.recording)
    assert cls is not None, driver
    dev = cls(machine)
    for key, value in props.items():
        dev.prop_set(key, value, keyval=False)
    if blk is not None:
        # A backend handed over by another device (usb-storage's).
        blk.device = dev
        dev.blk = blk  # type: ignore[attr-defined]
    dev.parent_bus = qbus.bus_name
    dev.parent_qbus = qbus  # type: ignore[attr-defined]
    qbus.add_kid(dev)
    try:
        if name is None:
            machine.realize_unattached(dev)
        else:
            qbus.add_child(name, dev)
            machine.realize_board_device(dev)
    except CoreError:
        qbus.remove_kid(dev)
        if name is not None and name in qbus.children:
            qbus.remove_child(name)
        raise
    return dev


def create_board_ide_drives(machine: Machine, units_per_bus: int) -> int:
    """``pci_ide_create_devs`` (pc: bus i unit j is drive index 2i+j) and
    ``ahci_ide_create_devs`` (q35: port i takes drive index i, unit 0):
    ide-cd for media=cdrom, else ide-hd.  Returns how many were made (each
    is a /machine/unattached device)."""
    made = 0
    for index, bus in enumerate(board_ide_buses(machine)):
        for unit in range(units_per_bus):
            # drive_get_by_index(): index n is bus n / max_devs, unit n % max_devs,
            # max_devs being the board's units per bus (pc 2, q35 1).
            number = index * units_per_bus + unit
            drive = legacy_drive(machine, "ide", number // units_per_bus, number % units_per_bus)
            if drive is None:
                continue
            driver = "ide-cd" if drive.cdrom else "ide-hd"
            create_legacy_device(machine, bus, driver, {"unit": unit, "drive": drive.backend})
            made += 1
    return made


def floppy_drives(machine: Machine) -> list[LegacyDrive]:
    """``drive_get(IF_FLOPPY, 0, i)`` for the controller's two units."""
    found = (legacy_drive(machine, "floppy", 0, unit) for unit in range(FLOPPY_MAX_UNITS))
    return [drive for drive in found if drive is not None]


def create_legacy_floppies(machine: Machine, bus: FloppyBus) -> int:
    """``isa_fdc_init_drives``: a ``floppy`` device for each floppy drive
    (``unit`` and ``drive``, under /machine/unattached); how many."""
    made = 0
    for drive in floppy_drives(machine):
        create_legacy_device(machine, bus, "floppy", {"unit": drive.unit, "drive": drive.backend})
        made += 1
    return made


def create_legacy_scsi_drives(machine: Machine, bus: SCSIBus) -> None:
    """``scsi_bus_legacy_handle_cmdline``: the if=scsi drives of this bus's
    number, one target each (``legacy[unit]`` children of the bus)."""
    for unit in range(bus.max_target + 1):
        drive = legacy_drive(machine, "scsi", bus.busnr, unit)
        if drive is None:
            continue
        driver = "scsi-cd" if drive.cdrom else "scsi-hd"
        create_legacy_device(
            machine, bus, driver, {"scsi-id": unit, "drive": drive.backend}, f"legacy[{unit}]"
        )
