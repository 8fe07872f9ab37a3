"""virt's own devices under ``/machine/unattached`` (``machvirt_init``).

The board creates, after the vCPUs and in this order: the GIC
(``arm_gic`` for GICv2, ``arm-gicv3`` for v3 and v4, TCG's types), its MSI
controller (``arm-gicv2m``, or ``arm-gicv3-its`` where :func:`msi_device`
says), the UART ``pl011``, the RTC ``pl031``, the PCIe host
``gpex-pcihost`` (the board NICs of ``-nic``/``-net nic`` come next:
``create_pcie`` makes them), then the ``acpi-ged`` where the board has one,
else the GPIO controller ``pl061`` and its power key ``gpio-key``, the 32
``virtio-mmio`` transports and the ``platform-bus-device``.  Each takes the
next ``device[N]`` of ``/machine/unattached`` (qdev's ``unattached_count``);
``sysbus`` (the main system bus) and ``io[0]`` (the I/O address space's
region) are there too.

The devices are QOM objects with their type's properties as recorded
(``qom-list-properties`` of the type in the release's devices.json), their
defaults for values, realized, not hot-plugged, on the main system bus.
What they emulate (interrupts, MMIO) is not modelled: ``qom-list`` of one
lists no IRQs, GPIOs or memory regions (docs/divergences.md); the pl011
takes the first ``-serial`` chardev (``serial_hd(0)``), a second ``-serial``
makes (10.0) a second pl011 before it, and the secure UART of a secure
machine is not made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd.machine.devices.generic import CatalogMixin
from memdevd.machine.qdev import Device
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.recorded import Recording

#: NUM_VIRTIO_TRANSPORTS
VIRTIO_TRANSPORTS = 32
#: the main system bus's canonical path (``sysbus_get_default``)
SYSBUS_PATH = "/machine/unattached/sysbus"
#: get_system_io(): the I/O address space's root region
IO_REGION_SIZE = 0x10000


class VirtBoardDevice(CatalogMixin, Device):
    """A device virt makes itself, on the main system bus (the class for
    each type made by :func:`board_device_class`)."""

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.values: dict[str, Any] = {}
        self.parent_bus = "main-system-bus"

    def class_props_key(self) -> str | None:
        return "catalog"

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            # device_get_hotpluggable(): the main system bus takes none
            Prop("hotpluggable", "bool", lambda o: False, None),
            Prop("parent_bus", "link<bus>", lambda o: SYSBUS_PATH, None),
            *self.catalog_props(),
        ]


_CLASSES: dict[tuple[str, str, str], type[VirtBoardDevice] | None] = {}


def board_device_class(rec: Recording, typename: str) -> type[VirtBoardDevice] | None:
    """The class of a board device type of the release (None: not recorded)."""
    key = (rec.target, rec.recorded_as, typename)
    if key not in _CLASSES:
        info = rec.device_type(typename)
        _CLASSES[key] = (
            None
            if info is None
            else type(
                "Virt_" + typename.replace("-", "_"),
                (VirtBoardDevice,),
                {
                    "catalog": info,
                    "type_chain": (info.name, *info.parents),
                    "user_creatable": info.user_creatable,
                    "description": info.description or "",
                    "hotpluggable": info.hotpluggable is not False,
                },
            )
        )
    return _CLASSES[key]


def early_types(gic: int, msi: str | None, uarts: int = 1) -> list[str]:
    """What machvirt_init makes before the board NICs: the GIC, its MSI
    controller, the UART(s), the RTC and the PCIe host."""
    types = ["arm_gic" if gic == 2 else "arm-gicv3"]
    if msi is not None:
        types.append(msi)
    return [*types, *["pl011"] * uarts, "pl031", "gpex-pcihost"]


def uart_chardevs(machine: Machine) -> list[str | None]:
    """Each UART's chardev label, in the order machvirt_init makes them:
    (10.0) a second non-secure UART on ``serial_hd(1)`` when there is one,
    then UART0 on ``serial_hd(0)`` (None: no chardev)."""
    hds = machine.serial_hds
    first = hds[0] if hds else None
    second = hds[1] if len(hds) > 1 else None
    if machine.release.virt_second_ns_uart and second is not None:
        return [second, first]
    return [first]


def late_types(acpi_ged: bool) -> list[str]:
    """What it makes after them: the GED or the GPIO devices, the virtio-mmio
    transports, the platform bus."""
    first = ["acpi-ged"] if acpi_ged else ["pl061", "gpio-key"]
    return [*first, *["virtio-mmio"] * VIRTIO_TRANSPORTS, "platform-bus-device"]


def add_devices(machine: Machine, types: list[str]) -> None:
    """Each type as the next ``/machine/unattached/device[N]``, realized,
    and a child of the main system bus."""
    unattached = machine.unattached
    sysbus = unattached.children.get("sysbus")
    if not isinstance(sysbus, SystemBus):
        sysbus = SystemBus()
        unattached.add_child("sysbus", sysbus)
        unattached.add_child("io[0]", MemoryRegionObject(IO_REGION_SIZE))
        # virt_flash_map() realizes the two flash devices first.
        sysbus.add_link("cfi.pflash01", "/machine/virt.flash0")
        sysbus.add_link("cfi.pflash01", "/machine/virt.flash1")
    uarts = uart_chardevs(machine) if "pl011" in types else []
    for typename in types:
        if typename == "platform-bus-device":
            # create_fw_cfg() comes before create_platform_bus()
            sysbus.add_link("fw_cfg_mem", "/machine/fw_cfg")
        path = f"/machine/unattached/device[{machine.unattached_counter}]"
        cls = board_device_class(machine.recording, typename)
        if cls is not None:
            dev = cls(machine)
            if typename == "pl011":
                _uart_chardev(machine, dev, uarts.pop(0))
            dev.realized = True
            unattached.add_child(f"device[{machine.unattached_counter}]", dev)
        # (a type the release's recording lacks keeps its number)
        machine.unattached_counter += 1
        sysbus.add_link(typename, path)


def _uart_chardev(machine: Machine, dev: VirtBoardDevice, label: str | None) -> None:
    """create_uart(): ``qdev_prop_set_chr(dev, "chardev", serial_hd(N))``;
    pl011's realize opens it (``qemu_chr_fe_set_handlers``)."""
    if label is None:
        return
    from memdevd.machine.chardev.container import error_abort
    from memdevd.machine.errors import CoreError

    try:
        machine.chardevs.claim(label, dev, "pl011", "chardev", machine.release)
    except CoreError as exc:
        raise error_abort(exc, machine.release) from None
    machine.chardevs.open_frontend(dev)
    dev.values["chardev"] = label


class SystemBus(QOMObject):
    """``main-system-bus`` (type ``System``) at /machine/unattached/sysbus:
    a ``child[N]`` link to each device on it, in the order they joined it;
    its ``realized`` reads false and it has no hot-plug handler, as seen."""

    type_chain = ("System", "bus", "object")

    def __init__(self) -> None:
        super().__init__()
        self.kids = 0

    def class_props_key(self) -> str | None:
        return "System"

    def class_props(self) -> list[Prop]:
        return [
            Prop("hotplug-handler", "link<hotplug-handler>", lambda o: "", None),
            Prop("realized", "bool", lambda o: False, None),
        ]

    def add_link(self, typename: str, path: str) -> None:
        self.add_prop(Prop(f"child[{self.kids}]", f"link<{typename}>", lambda o: path, None))
        self.kids += 1
