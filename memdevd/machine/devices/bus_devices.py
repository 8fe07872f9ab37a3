"""Controllers and the devices on their buses: IDE, SCSI, USB, virtio-serial, HDA, floppy.

Made from the recorded catalog like every other device type
(:mod:`memdevd.machine.devices.generic`), with what QEMU's bus code does
about addresses: an IDE unit (``ide_qdev_realize``), a SCSI channel,
target and LUN (``scsi_bus_check_address``, ``scsi_qdev_realize``), a USB
port (``usb_claim_port``, ``usb_check_attach``), a virtio-serial port
number (``virtser_port_device_realize``), an HDA codec address
(``hda_codec_dev_realize``), a floppy unit and drive type
(``floppy_drive_realize``); and what the disk devices do
with their drive (``ide_dev_initfn``, ``scsi_realize``): a CD-ROM without
one gets an empty drive, a disk refuses to start.  Nothing is emulated
behind it: no ATA command, SCSI CDB or USB packet is ever answered.

Controllers (:data:`IDE_CONTROLLERS`, :data:`SCSI_CONTROLLERS`,
:data:`USB_CONTROLLERS`, the virtio-scsi and virtio-serial proxies)
create their buses when realized, named as QEMU names them.  Devices on
USB, SCSI and virtio-serial buses hot-plug and unplug at once (the bus,
or the controller, is their hotplug handler: no guest is asked); IDE
buses refuse both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qbus import (
    BAD_PORT_ID,
    FLOPPY_MAX_UNITS,
    USB_SPEED_MASK_FULL,
    USB_SPEED_MASK_HIGH,
    USB_SPEED_MASK_LOW,
    USB_SPEED_MASK_SUPER,
    FloppyBus,
    HDABus,
    IDEBus,
    QBus,
    SCSIBus,
    USBBus,
    VirtioSerialBus,
    automatic_bus_name,
    usb_speeds,
)

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device

# --- controllers ----------------------------------------------------------------------

#: IDE controllers on PCI: (buses, units per bus)
IDE_CONTROLLERS: dict[str, tuple[int, int]] = {
    "piix3-ide": (2, 2),
    "piix3-ide-xen": (2, 2),
    "piix4-ide": (2, 2),
    "ich9-ahci": (6, 1),
}
#: SCSI controllers on PCI: SCSIBusInfo (max_channel, max_target, max_lun)
SCSI_CONTROLLERS: dict[str, tuple[int, int, int]] = {
    "lsi53c895a": (0, 7, 0),
    "lsi53c810": (0, 7, 0),
    "megasas": (0, 64, 255),
    "megasas-gen2": (0, 64, 255),
    "mptsas1068": (0, 8, 1),
    "pvscsi": (0, 64, 0),
    "am53c974": (0, 7, 7),
    "dc390": (0, 7, 7),
}
#: virtio-scsi's SCSIBusInfo (VIRTIO_SCSI_MAX_TARGET, VIRTIO_SCSI_MAX_LUN)
VIRTIO_SCSI_LIMITS = (0, 255, 16383)
_UHCI = ("uhci", 2)
#: USB host controllers on PCI: kind and number of ports
USB_CONTROLLERS: dict[str, tuple[str, int]] = {
    "qemu-xhci": ("xhci", 0),
    "nec-usb-xhci": ("xhci", 0),
    "piix3-usb-uhci": _UHCI,
    "piix4-usb-uhci": _UHCI,
    "vt82c686b-usb-uhci": _UHCI,
    "ich9-usb-uhci1": _UHCI,
    "ich9-usb-uhci2": _UHCI,
    "ich9-usb-uhci3": _UHCI,
    "ich9-usb-uhci4": _UHCI,
    "ich9-usb-uhci5": _UHCI,
    "ich9-usb-uhci6": _UHCI,
    "ich9-usb-ehci1": ("ehci", 6),
    "ich9-usb-ehci2": ("ehci", 6),
    "usb-ehci": ("ehci", 6),
    "pci-ohci": ("ohci", 0),
}
_LOW_FULL = USB_SPEED_MASK_LOW | USB_SPEED_MASK_FULL
_ALL_SPEEDS = _LOW_FULL | USB_SPEED_MASK_HIGH | USB_SPEED_MASK_SUPER
#: floppy controllers (floppy_bus_create in fdctrl_realize_common)
FLOPPY_CONTROLLERS = frozenset({"isa-fdc"})
#: HDA controllers on PCI (hda_codec_bus_init in their realize)
HDA_CONTROLLERS = frozenset({"intel-hda", "ich9-intel-hda"})
#: codec addresses 0..14 (hda_codec_dev_realize)
HDA_MAX_CAD = 15
#: VIRTIO_QUEUE_MAX / 2 - 1
VSER_MAX_SUPPORTED_PORTS = 511


def owns_buses(typename: str, backend: str | None) -> bool:
    """Whether a PCI type (or its virtio device) creates buses here."""
    return (
        typename in IDE_CONTROLLERS
        or typename in SCSI_CONTROLLERS
        or typename in USB_CONTROLLERS
        or typename in HDA_CONTROLLERS
        or typename in FLOPPY_CONTROLLERS
        or backend in ("virtio-scsi-device", "virtio-serial-device")
    )


def _uint(values: dict[str, Any], name: str, default: int) -> int:
    value = values.get(name, default)
    return int(value) if value is not None else default


def check_controller(dev: Any, backend: str | None) -> None:
    """The controller's realize checks that come before its buses."""

    if backend == "virtio-serial-device":
        ports = _uint(dev.values, "max_ports", 31)
        if not ports:
            raise CoreError(M.VSER_MAX_PORTS_UNSET)
        if ports > VSER_MAX_SUPPORTED_PORTS:
            raise CoreError(M.VSER_MAX_PORTS_SUPPORTED.format(VSER_MAX_SUPPORTED_PORTS))


def make_buses(dev: Any, backend: str | None) -> list[QBus]:
    """The buses a realized controller creates, named as QEMU names them.

    ``dev`` is the PCI device; a virtio proxy's buses belong to its virtio
    device (``dev.vdev``), named ``<proxy id>.0`` (virtio-scsi-pci and
    virtio-serial-pci pass that name down), else automatically.
    """
    machine: Machine = dev.machine
    typename = dev.typename
    buses: list[QBus] = []
    if typename in IDE_CONTROLLERS:
        count, units = IDE_CONTROLLERS[typename]
        for i in range(count):
            name = automatic_bus_name(machine, dev, "IDE", i)
            buses.append(IDEBus(machine, name, dev, units))
    elif typename in SCSI_CONTROLLERS:
        name = automatic_bus_name(machine, dev, "SCSI", 0)
        buses.append(SCSIBus(machine, name, dev, SCSI_CONTROLLERS[typename]))
    elif typename in USB_CONTROLLERS:
        kind, ports = USB_CONTROLLERS[typename]
        if kind == "uhci" and dev.values.get("masterbus"):
            _register_companion(dev, ports)
            return []
        name = automatic_bus_name(machine, dev, "usb-bus", 0)
        usb = USBBus(machine, name, dev)
        register_usb_ports(usb, kind, ports, dev.values)
        buses.append(usb)
    elif typename in HDA_CONTROLLERS:
        buses.append(HDABus(machine, automatic_bus_name(machine, dev, "HDA", 0), dev))
    elif typename in FLOPPY_CONTROLLERS:
        name = automatic_bus_name(machine, dev, "floppy-bus", 0)
        buses.append(FloppyBus(machine, name, dev, fallback=str(dev.values.get("fallback", "288"))))
    elif backend in ("virtio-scsi-device", "virtio-serial-device"):
        vdev = dev.vdev
        bus_type = "SCSI" if backend == "virtio-scsi-device" else "virtio-serial-bus"
        name = f"{dev.id}.0" if dev.id else automatic_bus_name(machine, vdev, bus_type, 0)
        if backend == "virtio-scsi-device":
            buses.append(SCSIBus(machine, name, vdev, VIRTIO_SCSI_LIMITS))
        else:
            buses.append(VirtioSerialBus(machine, name, vdev, _uint(dev.values, "max_ports", 31)))
    owner = dev.vdev if backend is not None and hasattr(dev, "vdev") else dev
    for bus in buses:
        owner.add_child(bus.bus_name, bus)
    if typename in ("lsi53c895a", "lsi53c810") and machine.legacy_drives:
        # lsi_scsi_realize(): the -drive if=scsi units of this bus number.
        from memdevd.machine.qbus import create_legacy_scsi_drives

        create_legacy_scsi_drives(machine, buses[0])  # type: ignore[arg-type]
    return buses


def register_usb_ports(bus: USBBus, kind: str, ports: int, values: dict[str, Any]) -> None:
    """``usb_register_port`` calls of each controller's realize."""
    if kind == "xhci":
        # usb_xhci_realize: max(p2, p3) ports of every speed.
        count = max(_uint(values, "p2", 4), _uint(values, "p3", 4))
        for i in range(count):
            bus.register_port(str(i + 1), _ALL_SPEEDS)
    elif kind == "ehci":
        for i in range(ports):
            bus.register_port(str(i + 1), USB_SPEED_MASK_HIGH)
    elif kind == "ohci":
        for i in range(_uint(values, "num-ports", 3)):
            bus.register_port(str(i + 1), _LOW_FULL)
    else:
        for i in range(ports):
            bus.register_port(str(i + 1), _LOW_FULL)


def _register_companion(dev: Any, ports: int) -> None:
    """A UHCI companion (``masterbus=``): its ports are the EHCI bus's
    ports ``firstport``.. which now take full and low speed devices too."""
    from memdevd.machine.buses import find_bus

    master = find_bus(dev.machine, str(dev.values["masterbus"]))
    qbus = master.qbus
    if not isinstance(qbus, USBBus):
        return
    first = _uint(dev.values, "firstport", 0)
    for port in (*qbus.free, *qbus.used):
        if first < int(port.path.split(".")[0]) <= first + ports:
            port.speedmask |= _LOW_FULL


# --- the devices on the buses ----------------------------------------------------------


class BusHotplug:
    """The hotplug handler of SCSI, USB and virtio-serial buses: plugging
    needs nothing, an unplug request unplugs at once
    (``qdev_simple_device_unplug_cb``); DEVICE_DELETED follows."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def pre_plug(self, dev: Device) -> None:
        return None

    def commit(self, dev: Device, decided: Any) -> None:
        return None

    def plug(self, dev: Device) -> None:
        return None

    def unplug_request(self, dev: Device) -> None:
        # The device goes at once, but its DEVICE_DELETED follows the
        # device_del reply (QEMU finalizes it from the main loop).
        machine = self.machine
        held: list[tuple[str, Any]] = []

        def hold(name: str, data: dict[str, Any] | None = None) -> None:
            held.append((name, data))

        machine.emit = hold  # type: ignore[method-assign]
        try:
            machine.remove_device(dev)
        finally:
            del machine.emit
        for name, data in held:
            machine.clock.call_later(0, _emitter(machine, name, data))

    def unplug(self, dev: Device) -> None:
        return None


def _emitter(machine: Machine, name: str, data: Any) -> Any:
    def send() -> None:
        machine.emit(name, data)

    return send


def _qbus(dev: Any) -> Any:
    bus = getattr(dev, "parent_qbus", None)
    assert bus is not None, "device_add puts every bus device on a bus"
    return bus


# IDE ------------------------------------------------------------------------------------


def realize_ide(dev: Any) -> None:
    """``ide_qdev_realize`` then ``ide_dev_initfn``."""
    bus: IDEBus = _qbus(dev)
    unit = _unit(dev.values.get("unit", -1))
    if unit == -1:
        unit = 1 if 0 in bus.units else 0
    if unit >= bus.max_units:
        raise CoreError(M.IDE_UNIT_TOO_BIG.format(unit, bus.max_units))
    if unit in bus.units:
        raise CoreError(M.IDE_UNIT_IN_USE.format(unit))
    cdrom = dev.typename == "ide-cd"
    if dev.blk is None:
        if not cdrom:
            raise CoreError(M.IDE_NO_DRIVE)
        dev.blk = dev.machine.block.empty_backend(dev)
    dev.machine.block.realize_drive(
        dev.blk, resizable=not cdrom, share_rw=bool(dev.values.get("share-rw")), read_only=cdrom
    )
    bus.units[unit] = dev
    dev.values["unit"] = unit
    dev.ide_unit = unit


def unrealize_ide(dev: Any) -> None:
    bus = getattr(dev, "parent_qbus", None)
    unit = getattr(dev, "ide_unit", None)
    if isinstance(bus, IDEBus) and unit is not None and bus.units.get(unit) is dev:
        del bus.units[unit]


def _unit(value: Any) -> int:
    number = int(value)
    return -1 if number in (-1, 0xFFFFFFFF) else number


# SCSI -----------------------------------------------------------------------------------


def realize_scsi(dev: Any) -> None:
    """``scsi_qdev_realize``: the address, then the device's realize."""
    bus: SCSIBus = _qbus(dev)
    address = bus.assign(dev)
    typename = dev.typename
    if typename in ("scsi-cd",):
        if dev.blk is None:
            dev.blk = dev.machine.block.empty_backend(dev)
        dev.machine.block.realize_drive(
            dev.blk, resizable=False, share_rw=_share(dev), read_only=True
        )
    elif dev.blk is None:
        raise CoreError(M.BLOCK_DRIVE_NOT_SET)
    elif typename in ("scsi-generic", "scsi-block"):
        raise CoreError(M.SCSI_SG_IO_VERSION, hint=M.SCSI_SG_IO_HINT)
    else:
        dev.machine.block.realize_drive(dev.blk, resizable=True, share_rw=_share(dev))
    channel, target, lun = address
    dev.values["channel"], dev.values["scsi-id"], dev.values["lun"] = channel, target, lun
    dev.scsi_address = address


def _share(dev: Any) -> bool:
    return bool(dev.values.get("share-rw", False))


# USB ------------------------------------------------------------------------------------

#: product_desc of the USB devices (usb_device_get_product_desc)
USB_PRODUCTS = {
    "usb-tablet": "QEMU USB Tablet",
    "usb-mouse": "QEMU USB Mouse",
    "usb-kbd": "QEMU USB Keyboard",
    "usb-storage": "QEMU USB MSD",
    "usb-hub": "QEMU USB Hub",
    "usb-redir": "USB Redirection Device",
    "usb-host": "USB Host Device",
}
#: the speeds a device's descriptors offer (usb_desc_init); HID devices
#: with usb_version=2 (the default) add high speed
USB_DEVICE_SPEEDS = {
    "usb-storage": USB_SPEED_MASK_FULL | USB_SPEED_MASK_HIGH | USB_SPEED_MASK_SUPER,
    "usb-bot": USB_SPEED_MASK_FULL | USB_SPEED_MASK_HIGH | USB_SPEED_MASK_SUPER,
    "usb-uas": USB_SPEED_MASK_FULL | USB_SPEED_MASK_HIGH | USB_SPEED_MASK_SUPER,
    "usb-mtp": USB_SPEED_MASK_FULL | USB_SPEED_MASK_HIGH | USB_SPEED_MASK_SUPER,
    "usb-net": USB_SPEED_MASK_FULL | USB_SPEED_MASK_HIGH,
}
_HID = {"usb-tablet": ("QEMU HID Tablet", True), "usb-mouse": ("QEMU HID Mouse", False)}
HUB_PORTS = 8


def realize_usb(dev: Any) -> None:
    """``usb_qdev_realize``: claim a port, the device's realize, attach."""
    bus: USBBus = _qbus(dev)
    typename = dev.typename
    product = USB_PRODUCTS.get(typename, typename)
    port = _claim_port(dev, bus, product)
    try:
        speeds = _usb_device_realize(dev)
        if speeds is not None and not (port.speedmask & speeds):
            raise CoreError(
                M.USB_SPEED_MISMATCH.format(
                    product, usb_speeds(speeds), bus.bus_name, port.path, usb_speeds(port.speedmask)
                )
            )
    except CoreError:
        bus.release(port)
        raise
    port.dev = dev
    dev.usb_port = port
    if typename == "usb-hub":
        for i in range(_uint(dev.values, "ports", HUB_PORTS)):
            bus.register_port(f"{port.path}.{i + 1}", _ALL_SPEEDS & ~USB_SPEED_MASK_SUPER)
    hid = _HID.get(typename)
    if hid is not None or typename == "usb-kbd":
        dev.input_index = dev.machine.input_register(
            dev, hid[0] if hid else None, hid[1] if hid else False
        )


def _claim_port(dev: Any, bus: USBBus, product: str) -> Any:
    """``usb_claim_port``: the named port, else the first free one (a hub is
    chained on when only one is left)."""
    path = dev.values.get("port") or ""
    if path:
        port = next((p for p in bus.free if p.path == path), None)
        if port is None:
            raise CoreError(M.USB_PORT_NOT_FOUND.format(path, bus.bus_name))
    else:
        if len(bus.free) == 1 and dev.typename != "usb-hub":
            dev.machine.add_usb_hub(bus)
        if not bus.free:
            raise CoreError(M.USB_NO_FREE_PORTS.format(product))
        port = bus.free[0]
    bus.free.remove(port)
    bus.used.append(port)
    return port


def _usb_device_realize(dev: Any) -> int | None:
    """The device's own realize; its speeds (None: not attached yet)."""
    typename = dev.typename
    if typename in ("usb-tablet", "usb-mouse", "usb-kbd"):
        usb_version = _uint(dev.values, "usb_version", 2)
        if usb_version not in (1, 2):
            raise CoreError(M.USB_HID_BAD_VERSION.format(usb_version))
        return USB_SPEED_MASK_FULL | (USB_SPEED_MASK_HIGH if usb_version == 2 else 0)
    if typename == "usb-redir":
        if not dev.values.get("chardev"):
            raise CoreError(M.MISSING_PARAMETER.format("chardev"))
        # Attached once the remote end says what it is.
        return None
    if typename == "usb-host":
        bus_nr = _uint(dev.values, "hostbus", 0)
        addr = _uint(dev.values, "hostaddr", 0)
        if bus_nr or addr:
            raise CoreError(M.USB_HOST_NOT_FOUND.format(bus_nr, addr))
        # No device named: it waits for one to appear.
        return None
    if typename == "usb-storage":
        if dev.blk is None:
            raise CoreError(M.BLOCK_DRIVE_NOT_SET)
        dev.machine.block.realize_drive(dev.blk, resizable=True, share_rw=_share(dev))
        _msd_scsi_disk(dev)
    return USB_DEVICE_SPEEDS.get(typename, USB_SPEED_MASK_FULL)


#: usb_msd_scsi_info_storage: one target, one LUN
USB_MSD_SCSI_LIMITS = (0, 0, 0)


def _msd_scsi_disk(dev: Any) -> None:
    """``usb_msd_storage_realize``: the drive moves to a scsi-hd
    (``legacy[0]``) on the device's own SCSI bus (``<id>.0``)."""
    from memdevd.machine.qbus import create_legacy_device

    machine: Machine = dev.machine
    blk = dev.blk
    blk.device = None
    dev.blk = None
    name = automatic_bus_name(machine, dev, "SCSI", 0)
    bus = SCSIBus(machine, name, dev, USB_MSD_SCSI_LIMITS)
    dev.add_child(name, bus)
    dev.qbuses = [bus]
    props: dict[str, Any] = {"scsi-id": 0}
    if dev.values.get("removable"):
        props["removable"] = True
    try:
        create_legacy_device(machine, bus, "scsi-hd", props, "legacy[0]", blk=blk)
    except CoreError:
        dev.qbuses = []
        dev.remove_child(name)
        blk.device = dev
        dev.blk = blk
        raise


def unrealize_usb(dev: Any) -> None:
    port = getattr(dev, "usb_port", None)
    bus = getattr(dev, "parent_qbus", None)
    if port is not None and isinstance(bus, USBBus):
        if dev.typename == "usb-hub":
            prefix = port.path + "."
            bus.free = [p for p in bus.free if not p.path.startswith(prefix)]
        bus.release(port)
        dev.usb_port = None
    if getattr(dev, "input_index", None) is not None:
        dev.machine.input_unregister(dev)


# virtio-serial -------------------------------------------------------------------------


def realize_virtio_serial_port(dev: Any) -> None:
    """``virtser_port_device_realize`` and the port type's realize."""
    bus: VirtioSerialBus = _qbus(dev)
    console = dev.typename == "virtconsole"
    plugging_port0 = console and bus.port_by_id(0) is None
    nr = _uint(dev.values, "nr", BAD_PORT_ID) & 0xFFFFFFFF
    if bus.port_by_id(nr) is not None:
        raise CoreError(M.VSER_PORT_EXISTS_AT.format(nr))
    name = dev.values.get("name") or None
    if name is not None:
        for other in dev.machine.devices():
            if (
                other is not dev
                and getattr(other, "port_nr", None) is not None
                and other.values.get("name") == name
            ):
                raise CoreError(M.VSER_PORT_EXISTS_BY_NAME.format(name))
    if nr == BAD_PORT_ID:
        if plugging_port0:
            nr = 0
        else:
            nr = bus.free_id()
            if nr == BAD_PORT_ID:
                raise CoreError(M.VSER_MAX_PORTS_REACHED)
    if nr >= bus.max_ports:
        raise CoreError(M.VSER_PORT_OUT_OF_RANGE.format(bus.max_ports - 1))
    if nr == 0 and not console:
        raise CoreError(M.VSER_PORT0_RESERVED)
    dev.values["nr"] = nr
    dev.port_nr = nr
    bus.ids_used.add(nr)
    chardev = dev.values.get("chardev")
    if console and chardev:
        # virtconsole opens its chardev's frontend at once.
        backend = dev.machine.chardevs.children.get(chardev)
        if backend is not None and hasattr(backend, "frontend_open"):
            backend.frontend_open = True


def unrealize_virtio_serial_port(dev: Any) -> None:
    bus = getattr(dev, "parent_qbus", None)
    nr = getattr(dev, "port_nr", None)
    if isinstance(bus, VirtioSerialBus) and nr is not None:
        bus.ids_used.discard(nr)
        dev.port_nr = None


# HDA ------------------------------------------------------------------------------------


def realize_hda_codec(dev: Any) -> None:
    """``hda_codec_dev_realize``: the codec address, the bus's next one by
    default (the bus keeps the next even if the codec fails later)."""
    bus: HDABus = _qbus(dev)
    cad = _uint(dev.values, "cad", 0xFFFFFFFF) & 0xFFFFFFFF
    if cad == 0xFFFFFFFF:
        cad = bus.next_cad
    if cad >= HDA_MAX_CAD:
        raise CoreError(M.HDA_CAD_FULL)
    bus.next_cad = cad + 1
    dev.values["cad"] = cad


# floppy ---------------------------------------------------------------------------------

#: fd_formats (hw/block/fdc.c): (drive type, last sector, tracks, heads - 1), in order
FD_FORMATS: tuple[tuple[str, int, int, int], ...] = (
    *(("144", sect, 80, 1) for sect in (18, 20, 21)),
    ("144", 21, 82, 1),
    ("144", 21, 83, 1),
    *(("144", sect, 80, 1) for sect in (22, 23, 24)),
    *(("288", sect, 80, 1) for sect in (36, 39, 40, 44, 48)),
    ("144", 9, 80, 1),
    ("144", 10, 80, 1),
    ("144", 10, 82, 1),
    ("144", 10, 83, 1),
    ("144", 13, 80, 1),
    ("144", 14, 80, 1),
    ("120", 15, 80, 1),
    ("120", 18, 80, 1),
    ("120", 18, 82, 1),
    ("120", 18, 83, 1),
    ("120", 20, 80, 1),
    ("120", 9, 80, 1),
    ("120", 11, 80, 1),
    ("120", 9, 40, 1),
    ("120", 9, 40, 0),
    ("120", 10, 41, 1),
    ("120", 10, 42, 1),
    ("120", 8, 40, 1),
    ("120", 8, 40, 0),
    ("144", 9, 80, 0),
)


def pick_drive_type(dev: Any, fallback: str) -> str:
    """``pick_drive_type``: an ``auto`` drive takes the type of the first
    format whose sector count is the medium's, else the controller's
    fallback (also without a medium)."""
    kind = str(dev.values.get("drive-type", "auto"))
    if kind != "auto":
        return kind
    node = dev.blk.root if dev.blk is not None else None
    if node is None:
        return fallback
    sectors = node.length // 512
    for drive, last_sect, tracks, heads in FD_FORMATS:
        if (heads + 1) * tracks * last_sect == sectors:
            return drive
    return fallback


def blkconf_blocksizes(dev: Any) -> tuple[int, int]:
    """``blkconf_blocksizes`` (hw/block/block.c): the sizes not given are
    the sector size (memdevd's nodes report no block sizes of their own),
    then the checks.  Returns (logical, physical)."""
    values = dev.values

    def number(name: str, default: int = 0) -> int:
        value = values.get(name)
        return int(value) if value is not None else default

    physical = number("physical_block_size") or 512
    logical = number("logical_block_size") or 512
    if logical > physical:
        raise CoreError(M.BLKCONF_LOGICAL_GT_PHYSICAL)
    min_io, opt_io = number("min_io_size"), number("opt_io_size")
    if min_io % logical:
        raise CoreError(M.BLKCONF_MIN_IO_ALIGN)
    if min_io // logical > 0xFFFF:
        raise CoreError(M.BLKCONF_MIN_IO_MAX.format(0xFFFF))
    if opt_io % logical:
        raise CoreError(M.BLKCONF_OPT_IO_ALIGN)
    granularity = number("discard_granularity", -1) & 0xFFFFFFFF
    if granularity != 0xFFFFFFFF and granularity % logical:
        raise CoreError(M.BLKCONF_DISCARD_ALIGN)
    return logical, physical


def realize_floppy(dev: Any) -> None:
    """``floppy_drive_realize``: the unit, the drive (an empty one if none)
    with its block sizes and error actions, the drive type."""
    bus: FloppyBus = _qbus(dev)
    unit = _unit(dev.values.get("unit", -1))
    if unit == -1:
        unit = next((u for u in range(FLOPPY_MAX_UNITS) if u not in bus.units), FLOPPY_MAX_UNITS)
    if unit >= FLOPPY_MAX_UNITS:
        raise CoreError(M.FLOPPY_UNIT_TOO_BIG.format(unit, FLOPPY_MAX_UNITS))
    if unit in bus.units:
        raise CoreError(M.FLOPPY_UNIT_IN_USE.format(unit))
    machine = dev.machine
    read_only: bool | None = None
    if dev.blk is None:
        dev.blk = machine.block.empty_backend(dev)
        # no write permission on an empty drive (a read-only node may come)
        read_only = True
    logical, physical = blkconf_blocksizes(dev)
    if logical != 512 or physical != 512:
        raise CoreError(M.FLOPPY_BLOCK_SIZE)
    machine.block.realize_drive(
        dev.blk, resizable=False, share_rw=bool(dev.values.get("share-rw")), read_only=read_only
    )
    if dev.blk.on_write_error not in ("enospc", "report"):
        raise CoreError(M.FDC_WERROR)
    if dev.blk.on_read_error != "report":
        raise CoreError(M.FDC_RERROR)
    bus.units[unit] = dev
    dev.values["unit"] = unit
    dev.values["drive-type"] = pick_drive_type(dev, bus.fallback)
    dev.floppy_unit = unit
    # the fdc never calls blk_iostatus_enable(): query-block has no io-status
    dev.iostatus = False


def unrealize_floppy(dev: Any) -> None:
    bus = getattr(dev, "parent_qbus", None)
    unit = getattr(dev, "floppy_unit", None)
    if isinstance(bus, FloppyBus) and unit is not None and bus.units.get(unit) is dev:
        del bus.units[unit]


#: bus type -> (realize, unrealize)
BUS_REALIZE: dict[str, tuple[Any, Any]] = {
    "IDE": (realize_ide, unrealize_ide),
    "SCSI": (realize_scsi, None),
    "usb-bus": (realize_usb, unrealize_usb),
    "virtio-serial-bus": (realize_virtio_serial_port, unrealize_virtio_serial_port),
    "HDA": (realize_hda_codec, None),
    "floppy-bus": (realize_floppy, unrealize_floppy),
}

#: devices with a tray (``change_media_cb`` and ``is_tray_open``)
TRAY_DEVICES = frozenset({"ide-cd", "scsi-cd"})
#: devices with removable media but no tray (``change_media_cb`` only)
TRAYLESS_REMOVABLE = frozenset({"floppy"})
