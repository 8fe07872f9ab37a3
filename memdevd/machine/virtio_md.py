"""virtio-md-pci: virtio memory devices behind a PCI proxy, and their hotplug handler.

QEMU builds ``virtio-mem-pci`` and ``virtio-pmem-pci`` from two objects: the
PCI proxy the user creates (``/machine/peripheral/<id>``) and the virtio
device it owns as the child ``virtio-backend`` (an id-less qdev device on
the proxy's ``virtio-bus``).  The proxy forwards the virtio device's
properties as QOM aliases, which is why errors name the inner type
(``Property 'virtio-mem.size' is not writable``, ``Attempt to set property
'memaddr' on anonymous device (type 'virtio-mem') ...``).  :class:`VirtioMDPCI`
is that proxy (``TYPE_VIRTIO_MD_PCI`` in 8.1+, the same two types listed in
``pc.c`` in 7.2) and implements ``MemoryDeviceClass`` by delegating to the
inner device, like virtio-mem-pci.c / virtio-pmem-pci.c.

:class:`VirtioMDHotplug` is the machine's handler for them
(7.2 ``pc_virtio_md_pci_*``, 8.1+ ``hw/virtio/virtio-md-pci.c``): the
memory-device core's pre_plug first, then the bus; plug accounts the
memory; unplug is refused in 7.2 and goes through the virtio-md-pci checks
and the bus's (ACPI) unplug request from 8.1 on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.backends import HostMemoryBackend
from memdevd.machine.devices.pcie_root_port import (
    PciAcpiHotplug,
    PCIDevice,
    VirtioPCIBusObject,
)
from memdevd.machine.errors import CoreError
from memdevd.machine.memory_device import MemoryDeviceMixin, MemoryRegion
from memdevd.machine.qdev import Device
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

# Properties every qdev device has; they are not aliased into the proxy.
_DEVICE_PROPS = frozenset({"type", "parent_bus", "realized", "hotplugged", "hotpluggable"})


class VirtioDevice(Device):
    """``TYPE_VIRTIO_DEVICE``: the inner device of a virtio PCI proxy."""

    type_chain: ClassVar[tuple[str, ...]] = ("virtio-device", "device", "object")
    abstract = True
    user_creatable = False
    # virtio_device_class_init: a virtio device is never hot-plugged itself.
    hotpluggable = False
    bus_type = "virtio-bus"
    link_attrs: ClassVar[dict[str, str]] = {"memdev": "hostmem"}

    def __init__(self, machine: Machine, proxy: VirtioMDPCI) -> None:
        super().__init__(machine)
        self.proxy = proxy
        # VIRTIO_MEM_ADDR_PROP / VIRTIO_PMEM_ADDR_PROP ("memaddr") and "memdev".
        self.memaddr = 0
        self.hostmem: HostMemoryBackend | None = None

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            Prop("parent_bus", "link<bus>", lambda o: _vdev(o).bus_path(), None),
        ]

    def bus_path(self) -> str:
        return f"{self.proxy.canonical_path()}/virtio-bus"

    def alias_props(self) -> list[Prop]:
        """The properties the proxy forwards here (``qdev_alias_all_properties`` et al.)."""
        return self.static_props()

    # -- what the proxy's MemoryDeviceClass hooks ask ------------------------------

    def get_memory_region(self) -> MemoryRegion | None:
        """``vpc->get_memory_region``: the backend's region."""
        b = self.hostmem
        if b is None or not b.mr_inited():
            raise CoreError(M.MEMDEV_MUST_BE_SET)
        return MemoryRegion(b.mr_size, b.mr_align, rom=b.readonly_region)

    def mapped_memslots(self) -> int:
        """RAM sections this device maps into device memory right now."""
        return 1 if self.realized else 0

    def qom_region(self) -> MemoryRegionObject | None:
        """The QOM memory-region mapped into device memory at ``memaddr``."""
        return self.hostmem.memory_region() if self.hostmem is not None else None

    def fill_device_info(self, data: dict[str, Any]) -> dict[str, Any]:
        """``vpc->fill_device_info``: the members after the proxy's ``id``."""
        raise NotImplementedError

    # -- realize ------------------------------------------------------------------

    def realize_checks(self) -> None:
        """``vdc->realize``'s checks; state changes wait for :meth:`commit`."""

    def commit(self) -> None:
        """The part of realize that changes the machine (backend mapped)."""
        self.realized = True

    def unrealize(self) -> None:
        self.realized = False


def _vdev(obj: QOMObject) -> VirtioDevice:
    assert isinstance(obj, VirtioDevice)
    return obj


def alias_prop(prop: Prop, target: VirtioDevice) -> Prop:
    """``object_property_add_alias``: get and set go to ``target``'s property.

    Errors therefore name the target (``Property 'virtio-mem.size' is not
    writable``) and static properties check the target's realized state.
    """

    def getter(obj: QOMObject) -> Any:
        return target.prop_get(prop.name)

    def setter(obj: QOMObject, v: InputVisitor, name: str) -> None:
        inner = target.find_prop(prop.name)
        if inner is None or inner.set is None:
            raise CoreError(M.PROPERTY_NOT_WRITABLE.format(target.typename, prop.name))
        inner.set(target, v, name)

    return Prop(
        prop.name,
        prop.type,
        getter,
        setter,
        prop.description,
        static=prop.static,
        default=prop.default,
        has_default=prop.has_default,
    )


class VirtioMDPCI(MemoryDeviceMixin, PCIDevice):
    """``TYPE_VIRTIO_MD_PCI``: a PCI proxy around a virtio memory device."""

    interfaces: ClassVar[tuple[str, ...]] = (
        "memory-device",
        "pci-express-device",
        "conventional-pci-device",
    )
    # Set by the concrete types: the inner device's class, the proxy's
    # type chain below "virtio-md-pci" (which exists from 8.1 on).
    vdev_class: ClassVar[type[VirtioDevice]]
    proxy_types: ClassVar[tuple[str, ...]] = ()
    # virtio-md-pci's VirtIOMDPCIClass.unplug_request_check (virtio-mem only).
    has_unplug_request_check: ClassVar[bool] = False
    # MemoryDeviceInfoKind of query-memory-devices.
    info_kind: ClassVar[str]

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        md_pci = ("virtio-md-pci",) if machine.release.virtio_md_unplug else ()
        # The proxy's types depend on the release; QOM keeps them per class.
        self.type_chain = (  # type: ignore[misc]
            *self.proxy_types,
            *md_pci,
            "virtio-pci",
            "pci-device",
            "device",
            "object",
        )
        self.typename = self.type_chain[0]
        # virtio_instance_init_common(): the bus and the inner device.
        self.add_child("virtio-bus", VirtioPCIBusObject())
        self.vdev = self.vdev_class(machine, self)
        self.add_child("virtio-backend", self.vdev)

    # -- QOM: aliases into the virtio device --------------------------------------

    def class_props(self) -> list[Prop]:
        props = super().class_props()
        props.extend(alias_prop(p, self.vdev) for p in self.vdev.alias_props())
        return props

    def check_settable(self, name: str) -> None:
        """Recorded (unmodelled) aliases refuse with the inner device's text."""
        if name not in _DEVICE_PROPS and self.vdev.find_prop(name) is not None:
            self.vdev.check_settable(name)
            return
        super().check_settable(name)

    # -- MemoryDeviceClass ----------------------------------------------------------

    def get_addr(self) -> int:
        return self.vdev.memaddr

    def set_addr(self, addr: int) -> None:
        self.vdev.memaddr = addr

    def get_memory_region(self) -> MemoryRegion | None:
        return self.vdev.get_memory_region()

    def get_plugged_size(self) -> int:
        raise NotImplementedError

    def fill_device_info(self) -> dict[str, Any]:
        """``fill_device_info``: the proxy's id, the rest from the virtio device."""
        data: dict[str, Any] = {"id": self.id} if self.id is not None else {}
        return {"type": self.info_kind, "data": self.vdev.fill_device_info(data)}

    def device_id(self) -> str | None:
        return self.id

    def is_realized(self) -> bool:
        return self.realized

    # -- realize / unplug -----------------------------------------------------------

    def realize(self) -> None:
        """``pci_qdev_realize``: the devfn first, then the virtio device."""
        devfn = self.pci_realize()
        self.vdev.realize_checks()
        self.devfn = devfn

    def unplug_request_check(self) -> None:
        """``VirtIOMDPCIClass.unplug_request_check``; only virtio-mem has one."""

    def plugged(self) -> None:
        """Called once the device is plugged (guest activity may start)."""

    def unplugged(self) -> None:
        """Called when the device is finally removed."""


def _md(dev: Device) -> VirtioMDPCI:
    assert isinstance(dev, VirtioMDPCI)
    return dev


class VirtioMDHotplug(PciAcpiHotplug):
    """The machine hotplug handler for virtio-mem-pci / virtio-pmem-pci.

    QEMU's machine handler does the memory-device part and forwards to the
    bus's handler (ACPI PCI hot-plug, :class:`PciAcpiHotplug`).
    """

    def pre_plug(self, dev: Device) -> int:  # type: ignore[override]
        """``virtio_md_pci_pre_plug``: memory checks and address; no mutation."""
        md = _md(dev)
        bus = md.pci_bus()
        if (bus is None or not bus.hotpluggable) and self.machine.machine_ready:
            # "We should never reach this point when hotplugging on x86":
            # qdev refuses a hot-plug on such a bus first.
            raise CoreError(M.VIRTIO_MD_HOTPLUG_NOT_SUPPORTED)
        addr = self.machine.memory.pre_plug(md)
        # memory_device_pre_plug() sets the address right away, and the
        # virtio device's realize checks it (the device is thrown away if a
        # later step fails, so this changes nothing shared).
        md.set_addr(addr)
        super().pre_plug(dev)
        return addr

    def commit(self, dev: Device, decided: Any) -> None:
        md = _md(dev)
        md.vdev.commit()

    def plug(self, dev: Device) -> None:
        """``virtio_md_pci_plug``: ``memory_device_plug``, then the bus."""
        md = _md(dev)
        self.machine.memory.plug(md)
        self.machine.memory.region_mapped(md.vdev.mapped_memslots())
        self.machine.map_region(md.vdev.qom_region(), md.get_addr())
        md.vdev.hotplugged = md.hotplugged
        super().plug(dev)
        md.plugged()

    def unplug_request(self, dev: Device) -> None:
        """7.2: refused; 8.1+: ``virtio_md_pci_unplug_request``."""
        md = _md(dev)
        if not self.machine.release.virtio_md_unplug:
            raise CoreError(M.VIRTIO_MD_UNPLUG_7_2)
        # qmp_device_del checks this before anything else.
        self.check_not_pending(md)
        if not md.has_unplug_request_check:
            raise CoreError(self.machine.release.virtio_pmem_unplug_text)
        bus = md.pci_bus()
        if bus is None or not bus.hotpluggable:
            raise CoreError(M.VIRTIO_MD_HOTUNPLUG_NOT_SUPPORTED)
        md.unplug_request_check()
        self.request_eject(md)

    def unplug(self, dev: Device) -> None:
        """``virtio_md_pci_unplug``: ``memory_device_unplug`` while still realized."""
        md = _md(dev)
        md.unplugged()
        self.machine.memory.unplug(md)
        self.machine.memory.region_unmapped(md.vdev.mapped_memslots())
        region = md.vdev.qom_region()
        if region is not None:
            region.unmap()
        super().unplug(dev)
        # The inner device is finalized first and has no id of its own.
        md.vdev.unrealize()
        self.machine.emit("DEVICE_DELETED", {"path": md.vdev.canonical_path()})


# Concrete proxies name their handler as a class attribute, which
# hotplug.machine_hotplug_handler() looks up.
VirtioMDPCI.hotplug_handler = VirtioMDHotplug
