"""Device types of the recorded catalog that memdevd places but does not emulate.

QEMU has some 450 device types; memdevd models the memory devices and a
few others in code.  Every other type the emulated release has is made
from its recorded catalog entry (``devices.json``: its parents, bus and
``device-list-properties``): a device with QEMU's properties, parsed and
range-checked as QEMU's qdev property types are, with QEMU's defaults,
placed where QEMU places it (a PCI device takes the devfn QEMU gives it),
listed under ``/machine/peripheral`` and unplugged like any PCI device.
It does nothing else: no disk is read, no packet sent, no pixel drawn.

A virtio PCI proxy (``virtio-blk-pci``...) owns its virtio device as the
child ``virtio-backend`` on its ``virtio-bus``, as in QEMU; the virtio
device's properties are aliased on the proxy, so their errors name the
inner type.  Properties that link to a backend (``drive``, ``netdev``,
``chardev``, ``audiodev``, ``link<...>``) must name one that exists, with
QEMU's texts; a ``drive`` attaches the block node as QEMU's
``set_drive_helper`` does.

Controllers own IDE, SCSI, USB, virtio-serial and HDA buses, and the types
on those buses find their address there
(:mod:`memdevd.machine.devices.bus_devices`).  A type on another bus
(CCID, floppy...) gets QEMU's "No 'ccid-bus' bus found" (or "can't go
on" a bus it names), as on a QEMU machine without that bus.
A type's class is hot-pluggable as the catalog records it
(``DeviceClass.hotpluggable``: ``VGA`` is not), and ``qom-list`` of a
device lists its properties in QEMU's order with QEMU's types: the
catalog's ``qom-list-properties`` of the type (the order of a new
instance's properties), then what realize added (``virtio-bus``).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.chardev.container import OPEN_AT_REALIZE
from memdevd.machine.devices.pcie_root_port import PassivePCIDevice, VirtioPCIBusObject
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device, parse_bool
from memdevd.machine.qom import Prop, QOMObject, unmodelled_child
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.block.graph import BlockBackend
    from memdevd.machine.machine import Machine
    from memdevd.releases.recorded import DevicePropertyInfo, DeviceTypeInfo, Recording

_INTS = frozenset(
    {"uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "size"}
)
_MAC = re.compile(r"[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}")
#: The properties every device and PCI device has in code (qdev.py,
#: pcie_root_port.py): the catalog's entries for them are not re-made.
_BASE_PROPS = frozenset({"addr", "multifunction", "realized", "hotplugged", "hotpluggable"})
#: virtio proxies whose inner device is not "<name without -pci>-device"
_BACKENDS = {
    "virtio-vga": "virtio-gpu-device",
    "virtio-vga-gl": "virtio-gpu-gl-device",
}
_PROXY_SUFFIXES = ("-pci-non-transitional", "-pci-transitional", "-pci")
#: disk devices whose realize fails without a drive ("drive property not set")
_DRIVE_REQUIRED = frozenset({"virtio-blk-device"})


def _enum_values(prop: DevicePropertyInfo) -> tuple[str, ...] | None:
    """A qdev enum property's values, as its description lists them
    (``qdev_prop_enum`` sets it to the values joined by "/")."""
    desc = prop.description
    if desc and "/" in desc and " " not in desc:
        return tuple(desc.split("/"))
    return None


#: qdev property kinds device-list-properties lists as "str", known by
#: their PropertyInfo description (hw/core/qdev-properties-system.c)
_KINDS = {
    "Node name or ID of a block device to use as a backend": "drive",
    "ID of a netdev to use as a backend": "netdev",
    "ID of a chardev to use as a backend": "chr",
    "ID of an audiodev to use as a backend": "audiodev",
    "ID of a tpm to use as a backend": "tpm",
    "Host PCI address [domain:]<bus:slot.function> of assigned device": "pci-host-devaddr",
    # 7.2's text of the same PropertyInfo
    "Address (bus/device/function) of the host device, example: 04:10.0": "pci-host-devaddr",
}


def _kind(prop: DevicePropertyInfo) -> str:
    """What a property refers to: "drive", "netdev", "chr", "audiodev",
    "mac" (``qdev_prop_macaddr``), else its listed type."""
    desc = prop.description or ""
    if desc.startswith("Ethernet 6-byte MAC Address"):
        return "mac"
    return _KINDS.get(desc, prop.type)


def _parse(prop: DevicePropertyInfo, v: InputVisitor, name: str) -> Any:
    """The value as the property's qdev type reads it (its visitor texts)."""
    ptype = prop.type
    if ptype == "bool":
        return parse_bool(v, name)
    if ptype in _INTS:
        return v.type_int(name, ptype)
    values = _enum_values(prop)
    if values is not None:
        return v.type_enum(name, values)
    return v.type_str(name)


class CatalogMixin:
    """Catalog properties on a device class made by :func:`catalog_class`."""

    catalog: ClassVar[DeviceTypeInfo]
    # The inner virtio device's property names (aliased, its texts).
    backend_props: ClassVar[frozenset[str]] = frozenset()

    machine: Machine
    values: dict[str, Any]
    typename: str
    id: str | None
    realized: bool
    hotplugged: bool

    def catalog_props(self) -> list[Prop]:
        props = []
        for info in self.catalog.properties:
            if info.name in _BASE_PROPS or info.type.startswith("child<"):
                # children are the object's own (virtio-backend)
                continue
            props.append(_catalog_prop(info))
        return props

    def properties(self) -> list[Prop]:
        """``qom-list``: in QEMU's order (the catalog's), QEMU's types."""
        props = super().properties()  # type: ignore[misc]
        if self.recorded_sample() is not None:  # type: ignore[attr-defined]
            return props  # type: ignore[no-any-return]
        order = qemu_order(self.catalog, self.machine.recording, self.id, self.hotplugged)
        return in_qemu_order(props, order)

    def backend_typename(self) -> str:
        return self.typename

    def set_drive(self, name: str, value: str, owner: str) -> None:
        """A ``drive`` property's value (a disk's class attaches it)."""
        raise CoreError(M.PROPERTY_DOESNT_TAKE_VALUE.format(owner, name, value))

    def replace_drive(self, name: str, value: str, owner: str) -> None:
        raise CoreError(M.SET_PROP_AFTER_REALIZE_ANON.format(name, owner))

    def realize_nic(self) -> None:
        """A NIC (a type with a ``netdev`` property) joins the network."""
        from memdevd.machine.devices import nic

        if nic.netdev_prop(self.catalog, getattr(self, "backend_info", None)) is not None:
            nic.realize(self)

    def unrealize(self) -> None:
        from memdevd.machine.devices import nic

        nic.unrealize(self)
        super().unrealize()  # type: ignore[misc]

    def apply_links(self) -> None:
        """Realize: the backends the link-like properties name must exist."""
        for info in self.catalog.properties:
            value = self.values.get(info.name)
            if not value:
                continue
            owner = self.backend_typename() if info.name in self.backend_props else self.typename
            kind = _kind(info)
            if kind == "chr":
                # set_chr(): the chardev must exist and have no front end yet.
                machine = self.machine
                machine.chardevs.claim(value, self, owner, info.name, machine.release)
                if self.typename in OPEN_AT_REALIZE:
                    machine.chardevs.open_frontend(self)
                continue
            if kind == "audiodev":
                self.machine.display.check_audiodev_prop(owner, info.name, value)
                continue
            if kind == "tpm":
                # Not modelled yet: no TPM backend can exist.
                raise CoreError(M.CHARDEV_PROP_NOT_FOUND.format(owner, info.name, value))


def qemu_order(
    info: DeviceTypeInfo, rec: Recording, dev_id: str | None, hot: bool
) -> tuple[DevicePropertyInfo, ...]:
    """What ``qom-list`` of a realized ``info`` device lists: the recorded
    instance's list (of one hot-plugged where ``hot``: realize makes a few
    memory regions at another time, QEMU's hash table lists them in
    another order), its buses named after ``dev_id`` as QEMU names them
    (``qbus_init_internal()``: "<id>.<n>", for a device without an id the
    bus type in lower case, numbered here as the recorded one), else the
    type's ``qom-list-properties``."""
    listed = info.qom_list_hot if hot else info.qom_list
    if listed is None:
        return info.qom_properties
    key = (info.name, rec.recorded_as, dev_id, hot)
    renamed = _ORDERS.get(key)
    if renamed is None:
        recorded_id = rec.device_instance_id()
        out = []
        for p in listed:
            if (
                p.name.partition(".")[0] == recorded_id
                and p.type.startswith("child<")
                and p.type != "child<memory-region>"
            ):
                # "<id>.<n>", a PCI bridge's bus: "<id>"
                stem = dev_id if dev_id is not None else p.type[6:-1].lower()
                p = replace(p, name=stem + p.name[len(recorded_id) :])
            out.append(p)
        renamed = _ORDERS[key] = tuple(out)
    return renamed


_ORDERS: dict[tuple[str, str, str | None, bool], tuple[DevicePropertyInfo, ...]] = {}


def in_qemu_order(props: list[Prop], order: tuple[DevicePropertyInfo, ...]) -> list[Prop]:
    """``props`` (a device's, children included) in the order of ``order``
    (the type's ``qom-list-properties``: QEMU's hash-table order of a new
    instance) with its types; what ``order`` lacks (children realize adds)
    after it.  A property QEMU has and memdevd does not make is listed
    too: a child reads as its path, another (``legacy-*`` of a link,
    which QEMU registers without a getter) is neither readable nor
    writable."""
    if not order:
        return props
    by_name: dict[str, Prop] = {}
    for prop in props:
        by_name.setdefault(prop.name, prop)
    out: list[Prop] = []
    for info in order:
        found = by_name.pop(info.name, None)
        if found is None:
            if info.type.startswith("child<"):
                found = Prop(info.name, info.type, get=unmodelled_child(info.name))
            else:
                found = Prop(info.name, info.type)
        elif found.type != info.type:
            found = replace(found, type=info.type)
        out.append(found)
    out.extend(by_name.values())
    return out


def _bootindex_prop(info: DevicePropertyInfo) -> Prop:
    """``device_add_bootindex_property``: not a qdev property, so it can be
    set after realize; one device per index in the boot order."""

    def getter(obj: QOMObject) -> Any:
        return _catalog(obj).values.get(info.name, -1)

    def setter(obj: QOMObject, v: InputVisitor, pname: str) -> None:
        dev = obj
        assert isinstance(dev, (CatalogPCIDevice, CatalogBusDevice))
        index = v.type_int(pname, "int32")
        order = dev.machine.boot_order
        if index >= 0 and index in order:
            raise CoreError(M.BOOTINDEX_USED.format(index))
        _forget_boot_index(dev)
        if index >= 0:
            order[index] = dev
        dev.values[pname] = index

    return Prop(info.name, info.type, getter, setter, info.description)


def _forget_boot_index(dev: CatalogPCIDevice | CatalogBusDevice) -> None:
    order = dev.machine.boot_order
    for index in [i for i, holder in order.items() if holder is dev]:
        del order[index]


def _catalog_prop(info: DevicePropertyInfo) -> Prop:
    name = info.name
    if name == "bootindex" and info.type == "int32":
        return _bootindex_prop(info)
    default = None if not info.has_default else info.default_value

    def getter(obj: QOMObject) -> Any:
        dev = _catalog(obj)
        if name in dev.values:
            return dev.values[name]
        if info.type == "str":
            return default if isinstance(default, str) else ""
        if info.type.startswith("link<"):
            return ""
        return default

    def setter(obj: QOMObject, v: InputVisitor, pname: str) -> None:
        dev = _catalog(obj)
        owner = dev.backend_typename() if pname in dev.backend_props else dev.typename
        kind = _kind(info)
        if kind == "drive" and dev.realized:
            # qdev_prop_drive: realized_set_allowed.
            dev.replace_drive(pname, v.type_str(pname), owner)
            return
        if dev.realized:
            if dev.id is not None and pname not in dev.backend_props:
                raise CoreError(M.SET_PROP_AFTER_REALIZE.format(pname, dev.id, owner))
            raise CoreError(M.SET_PROP_AFTER_REALIZE_ANON.format(pname, owner))
        if info.type.startswith("link<"):
            path = v.type_str(pname)
            # A link reads back as its target's canonical path.
            target = dev.machine.resolve_link(path, info.type[5:-1], pname) if path else None
            dev.values[pname] = target.canonical_path() if target is not None else ""
            return
        value = _parse(info, v, pname)
        if kind == "mac" and not _MAC.fullmatch(str(value)):
            raise CoreError(M.PROPERTY_DOESNT_TAKE_VALUE.format(owner, pname, value))
        if info.type == "str" and info.default_value == "auto" and name == "guid":
            # qdev_prop_uuid (vmgenid's guid): "auto" or a UUID.
            from memdevd.machine.devices.busless import parse_uuid

            uuid = value if value == "auto" else parse_uuid(str(value))
            if uuid is None:
                raise CoreError(M.PROPERTY_DOESNT_TAKE_VALUE.format(owner, pname, value))
            value = uuid
        if kind == "pci-host-devaddr":
            from memdevd.machine.devices.host_devices import parse_pci_host_devaddr

            address = parse_pci_host_devaddr(str(value))
            if address is None:
                raise CoreError(M.PROPERTY_DOESNT_TAKE_VALUE.format(owner, pname, value))
            value = address
        if kind == "drive":
            dev.set_drive(pname, str(value), owner)
        if kind == "netdev":
            from memdevd.machine.devices import nic

            nic.set_netdev(dev, pname, str(value), owner)
        dev.values[pname] = value

    return Prop(
        name,
        info.type,
        getter,
        setter,
        info.description,
        static=True,
        default=default,
        has_default=info.has_default,
    )


class CatalogPCIDevice(CatalogMixin, PassivePCIDevice):
    """A PCI device of the catalog: placed, listed, unplugged."""

    abstract = False
    # A controller: it creates buses when realized (bus_devices.make_buses);
    # bus_backend is a virtio proxy's inner type.
    owns_buses: ClassVar[bool] = False
    bus_backend: ClassVar[str | None] = None

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.values = {}
        self.blk: BlockBackend | None = None
        self.qbuses: list[Any] = []

    def class_props_key(self) -> str | None:
        # The list depends on the class (its catalog entry) only.
        return "catalog"

    def class_props(self) -> list[Prop]:
        return [*super().class_props(), *self.catalog_props()]

    def drive_owner(self) -> Device:
        """The device a ``drive`` attaches to (the inner virtio device)."""
        return self

    def set_drive(self, name: str, value: str, owner: str) -> None:
        """``set_drive_helper``: a named backend, or a new one on a node."""
        if not value:
            return
        self.blk = self.machine.block.attach_drive(value, self.drive_owner(), owner, name)

    def replace_drive(self, name: str, value: str, owner: str) -> None:
        """``set_drive_helper`` after realize: the drive moves to a node."""
        if self.blk is None:
            self.set_drive(name, value, owner)
            self.values[name] = value
            return
        self.machine.block.replace_drive(self.blk, value)
        if not self.blk.name:
            self.values[name] = value

    def realize(self) -> None:
        self.apply_links()
        super().realize()
        self.realize_backend()
        self.realize_drive()
        self.realize_nic()
        if self.owns_buses:
            from memdevd.machine.devices.bus_devices import check_controller, make_buses

            check_controller(self, self.bus_backend)
            self.qbuses = make_buses(self, self.bus_backend)
        if "rombar" in self.values:
            from memdevd.machine.pci_info import check_option_rom

            check_option_rom(self.machine, self)

    def realize_backend(self) -> None:
        """The device's own realize (a virtio proxy's: its inner device's),
        after its PCI address."""
        from memdevd.machine.devices.host_devices import REALIZE_CHECKS

        check = REALIZE_CHECKS.get(self.backend_typename())
        if check is not None:
            check(self.machine, self.values)

    def realize_drive(self) -> None:
        """The disk device's realize: its drive, and what it needs of it."""
        if self.blk is None:
            if self.backend_typename() in _DRIVE_REQUIRED:
                raise CoreError(M.BLOCK_DRIVE_NOT_SET)
            return
        share_rw = bool(self.values.get("share-rw", False))
        self.machine.block.realize_drive(self.blk, resizable=True, share_rw=share_rw)

    def unrealize(self) -> None:
        """virtio_blk_device_unrealize: ``blockdev_mark_auto_del`` (a -drive
        goes with the disk that used it)."""
        super().unrealize()
        if self.blk is not None and self.backend_typename() == "virtio-blk-device":
            self.blk.auto_del = True

    def finalize(self) -> None:
        """``release_drive``: a device that goes (or failed) lets its drive go;
        ``property_release_bootindex``: and its place in the boot order."""
        _forget_boot_index(self)
        if self.blk is not None:
            self.machine.block.detach_drive(self.blk)
            self.blk = None


class CatalogBusDevice(CatalogMixin, Device):
    """A catalog device on a bus other than PCI: on the IDE, SCSI, USB and
    virtio-serial buses it takes an address there, as QEMU's bus code
    does; a disk attaches its drive."""

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.values = {}
        self.blk: BlockBackend | None = None
        # The bus's QOM object (machine/qbus.py), once device_add chose it.
        self.parent_qbus: Any = None
        # The buses it owns (an isa-fdc's floppy bus).
        self.qbuses: list[Any] = []

    def class_props_key(self) -> str | None:
        return "catalog"

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            # device_get_hotpluggable(): the class's flag and its bus's
            Prop("hotpluggable", "bool", _bus_device_hotpluggable, None),
            Prop("parent_bus", "link<bus>", _bus_device_parent_bus, None),
            *self.catalog_props(),
        ]

    @property
    def hotplug_handler(self) -> Any:
        """The bus's handler (SCSI, USB, virtio-serial); IDE has none."""
        if self.bus_type in ("SCSI", "usb-bus", "virtio-serial-bus"):
            from memdevd.machine.devices.bus_devices import BusHotplug

            return BusHotplug
        return None

    def set_drive(self, name: str, value: str, owner: str) -> None:
        """``set_drive_helper``: a named backend, or a new one on a node."""
        if not value:
            return
        self.blk = self.machine.block.attach_drive(value, self, owner, name)

    @property
    def removable_media(self) -> bool:
        from memdevd.machine.devices.bus_devices import TRAYLESS_REMOVABLE

        # a floppy drive has change_media_cb without is_tray_open
        return self.has_tray or self.typename in TRAYLESS_REMOVABLE

    @property
    def has_tray(self) -> bool:
        from memdevd.machine.devices.bus_devices import TRAY_DEVICES

        # scsi-disk.c: a CD-ROM, or a disk with removable=on, has the
        # removable block ops (change_media_cb, is_tray_open).
        return self.typename in TRAY_DEVICES or (
            self.typename == "scsi-hd" and bool(self.values.get("removable"))
        )

    def replace_drive(self, name: str, value: str, owner: str) -> None:
        """``set_drive_helper`` after realize: the drive moves to a node."""
        if self.blk is None or self.blk.root is None:
            # A CD-ROM without medium takes its drive here (blk_insert_bs).
            raise CoreError(M.SET_PROP_AFTER_REALIZE_ANON.format(name, owner))
        self.machine.block.replace_drive(self.blk, value)
        if not self.blk.name:
            self.values[name] = value

    def realize(self) -> None:
        self.apply_links()
        self.realize_nic()
        from memdevd.machine.devices.bus_devices import BUS_REALIZE, owns_buses

        hooks = BUS_REALIZE.get(self.bus_type or "")
        if hooks is not None:
            hooks[0](self)
        if owns_buses(self.typename, None):
            from memdevd.machine.devices.bus_devices import check_controller, make_buses

            check_controller(self, None)
            self.qbuses = make_buses(self, None)

    def unrealize(self) -> None:
        from memdevd.machine.devices.bus_devices import BUS_REALIZE

        hooks = BUS_REALIZE.get(self.bus_type or "")
        if hooks is not None and hooks[1] is not None:
            hooks[1](self)
        super().unrealize()

    def finalize(self) -> None:
        """``release_drive``: a device that goes (or failed) lets its drive go."""
        _forget_boot_index(self)
        if self.blk is not None:
            self.machine.block.detach_drive(self.blk)
            self.blk = None


def _bus_device_hotpluggable(obj: QOMObject) -> bool:
    from memdevd.machine.buses import bus_of

    assert isinstance(obj, CatalogBusDevice)
    bus = bus_of(obj.machine, obj)
    return type(obj).hotpluggable and (bus is None or bus.hotpluggable)


def _bus_device_parent_bus(obj: QOMObject) -> str:
    from memdevd.machine.buses import bus_canonical_path, bus_of

    assert isinstance(obj, CatalogBusDevice)
    bus = bus_of(obj.machine, obj)
    return bus_canonical_path(obj.machine, bus) if bus is not None else ""


class CatalogVirtioBackend(Device):
    """The inner virtio device of a catalog proxy (``virtio-backend``): its
    properties are the proxy's aliased ones, one value seen from both."""

    user_creatable = False
    hotpluggable = False
    bus_type = "virtio-bus"
    proxy: CatalogVirtioPCIDevice

    def class_props_key(self) -> str | None:
        return f"catalog:{self.typename}"

    def properties(self) -> list[Prop]:
        props = super().properties()
        info = self.proxy.backend_info
        if info is None:
            return props
        order = qemu_order(info, self.machine.recording, None, self.proxy.hotplugged)
        return in_qemu_order(props, order)

    def class_props(self) -> list[Prop]:
        info = self.proxy.backend_info
        own = [
            Prop("parent_bus", "link<bus>", _backend_bus_path, None),
            *super().class_props(),
        ]
        if info is None:
            return own
        return [
            *own,
            *(
                _delegate(_catalog_prop(p))
                for p in info.properties
                if p.name not in _BASE_PROPS and not p.type.startswith("child<")
            ),
        ]


def _backend_bus_path(obj: QOMObject) -> str:
    assert isinstance(obj, CatalogVirtioBackend)
    return f"{obj.proxy.canonical_path()}/virtio-bus"


def _delegate(prop: Prop) -> Prop:
    """A property of the inner device that reads and writes the proxy's value."""
    get, put = prop.get, prop.set
    assert get is not None and put is not None

    def getter(obj: QOMObject) -> Any:
        assert isinstance(obj, CatalogVirtioBackend)
        return get(obj.proxy)

    def setter(obj: QOMObject, v: InputVisitor, pname: str) -> None:
        assert isinstance(obj, CatalogVirtioBackend)
        put(obj.proxy, v, pname)

    return replace(prop, get=getter, set=setter)


class CatalogVirtioPCIDevice(CatalogPCIDevice):
    """A virtio PCI proxy: its bus and inner device as QEMU builds them."""

    backend_type: ClassVar[str]
    backend_chain: ClassVar[tuple[str, ...]]
    backend_info: ClassVar[DeviceTypeInfo | None]

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.add_child("virtio-bus", VirtioPCIBusObject())
        backend = CatalogVirtioBackend(machine)
        backend.type_chain = self.backend_chain  # type: ignore[misc]
        backend.typename = self.backend_type
        backend.parent_bus = "virtio-bus"
        backend.proxy = self
        self.vdev = backend
        self.add_child("virtio-backend", backend)

    def backend_typename(self) -> str:
        return self.backend_type

    def drive_owner(self) -> Device:
        return self.vdev

    def realize(self) -> None:
        super().realize()
        self.vdev.realized = True


def _catalog(obj: QOMObject) -> CatalogMixin:
    assert isinstance(obj, CatalogMixin)
    return obj


_CLASSES: dict[tuple[str, str, str], type[Device] | None] = {}
# Catalog types with their realize in code: type -> (module, class), the
# class a base of the type's catalog class.
_CODED_TYPES = {
    # PCI-to-PCI bridges, with a secondary bus.
    "pci-bridge": ("memdevd.machine.devices.pci_bridge", "CatalogPCIBridge"),
    "pci-bridge-seat": ("memdevd.machine.devices.pci_bridge", "CatalogPCIBridge"),
    "pcie-pci-bridge": ("memdevd.machine.devices.pci_bridge", "CatalogPCIBridge"),
    "i82801b11-bridge": ("memdevd.machine.devices.pci_bridge", "CatalogPCIBridge"),
    # Expander bridges and CXL.
    "pxb": ("memdevd.machine.devices.pci_expander", "PXB"),
    "pxb-pcie": ("memdevd.machine.devices.pci_expander", "PXBPCIe"),
    "pxb-cxl": ("memdevd.machine.devices.pci_expander", "PXBCXL"),
    "cxl-rp": ("memdevd.machine.devices.cxl", "CXLRootPort"),
    # PCIe ports: a root port's and a downstream port's slot alike.
    "ioh3420": ("memdevd.machine.devices.pcie_switch", "DownstreamPort"),
    "x3130-upstream": ("memdevd.machine.devices.pcie_switch", "UpstreamPort"),
    "xio3130-downstream": ("memdevd.machine.devices.pcie_switch", "DownstreamPort"),
    "cxl-upstream": ("memdevd.machine.devices.pcie_switch", "UpstreamPort"),
    "cxl-downstream": ("memdevd.machine.devices.pcie_switch", "DownstreamPort"),
    "cxl-type3": ("memdevd.machine.devices.cxl", "CXLType3"),
    "cxl-switch-mailbox-cci": ("memdevd.machine.devices.cxl", "SwitchMailboxCCI"),
    # On no bus.
    "vmgenid": ("memdevd.machine.devices.busless", "CatalogBuslessDevice"),
    "vmcoreinfo": ("memdevd.machine.devices.busless", "CatalogBuslessDevice"),
}


def _coded_base(name: str) -> Any:
    """The class in code a catalog type builds on, None for a plain one."""
    if name not in _CODED_TYPES:
        return None
    module, class_name = _CODED_TYPES[name]
    return getattr(importlib.import_module(module), class_name)


def catalog_class(rec: Recording, driver: str) -> type[Device] | None:
    """The class of a catalog device type (aliases resolved), None where
    the type is not one memdevd can place (not on a PCI bus)."""
    name = rec.resolve_device_name(driver)
    key = (rec.target, rec.recorded_as, name)
    if key in _CLASSES:
        return _CLASSES[key]
    info = rec.device_type(name)
    cls: type[Device] | None = None
    if info is not None and info.bus is None and info.name in _CODED_TYPES and not info.aborts:
        cls = type(
            _class_name(info.name),
            (_coded_base(info.name),),
            {
                "catalog": info,
                "type_chain": (info.name, *info.parents),
                "user_creatable": info.user_creatable,
                "description": info.description or "",
                "hotpluggable": info.hotpluggable is not False,
            },
        )
    elif info is not None and info.bus not in (None, "PCI", "System") and not info.aborts:
        # A bus memdevd may not have (USB, SCSI, virtio-serial...): QEMU's
        # "No 'usb-bus' bus found" / "can't go on" texts where it has none,
        # placed without an address where it has one (ISA).
        cls = type(
            _class_name(info.name),
            (CatalogBusDevice,),
            {
                "catalog": info,
                "type_chain": (info.name, *info.parents),
                "user_creatable": info.user_creatable,
                "description": info.description or "",
                "bus_type": info.bus,
                "hotpluggable": info.hotpluggable is not False,
            },
        )
    elif info is not None and info.bus == "PCI" and not info.aborts:
        chain = (info.name, *info.parents)
        attrs: dict[str, Any] = {
            "catalog": info,
            "type_chain": chain,
            "user_creatable": info.user_creatable,
            "description": info.description or "",
            "hotpluggable": info.hotpluggable is not False,
        }
        base: type[CatalogPCIDevice] = _coded_base(info.name) or CatalogPCIDevice
        backend_name: str | None = None
        if "virtio-pci" in info.parents:
            backend = _backend_of(rec, info.name)
            if backend is None:
                _CLASSES[key] = None
                return None
            binfo = rec.device_type(backend)
            attrs["backend_type"] = backend
            attrs["backend_info"] = binfo
            attrs["backend_chain"] = (backend, *rec.type_parents(backend))
            attrs["backend_props"] = frozenset(
                p.name for p in (binfo.properties if binfo is not None else ())
            )
            base = CatalogVirtioPCIDevice
            backend_name = backend
        from memdevd.machine.devices.bus_devices import owns_buses

        if owns_buses(info.name, backend_name):
            attrs["owns_buses"] = True
            attrs["bus_backend"] = backend_name
        cls = type(_class_name(info.name), (base,), attrs)
    _CLASSES[key] = cls
    return cls


def _backend_of(rec: Recording, proxy: str) -> str | None:
    if proxy in _BACKENDS:
        return _BACKENDS[proxy]
    stem = proxy
    for suffix in _PROXY_SUFFIXES:
        if proxy.endswith(suffix):
            stem = proxy[: -len(suffix)]
            break
    for candidate in (f"{stem}-device", stem):
        if rec.device_type(candidate) is not None:
            return candidate
    return None


def _class_name(typename: str) -> str:
    return "Catalog_" + re.sub(r"\W", "_", typename)
