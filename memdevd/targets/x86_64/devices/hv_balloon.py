"""hv-balloon (hw/hyperv/hv-balloon.c, 8.2+) and the VMBus it needs (hw/hyperv/vmbus.c).

``hv-balloon`` is a memory device on a Hyper-V VMBus: the guest's Hyper-V
Dynamic Memory driver balloons its RAM and accepts hot-added memory from an
optional ``memdev``.  Without a memdev it is an *empty* memory device (no
region, no address, skipped by the allocator, listed by
``query-memory-devices`` with ``max-size`` 0).  With one, its region is a
container of the memdev's size, aligned to 32 GiB (``get_min_alignment``),
and its ``decide_memslots`` splits it into memslots of a multiple of
128 MiB (:func:`decide_memslots`).  The plugged size QEMU reports is the
whole region, whatever the guest took.

QEMU requires a VMBus: the device's bus type is ``vmbus``, which only a
``vmbus-bridge`` (a sysbus device, command line only) creates, and only when
the vCPUs have Hyper-V SynIC and VP_INDEX, i.e. with KVM.  Otherwise the
bridge prints ``VMBus requires usable Hyper-V SynIC and VP_INDEX`` and stays
without a bus, and ``-device hv-balloon`` fails with ``No 'vmbus' bus found
for device 'hv-balloon'`` -- what QEMU under TCG shows.  memdevd's vCPUs
take no CPU features: with KVM in use (``-memdevd kvm=on -accel kvm``) it
assumes ``hv-synic,hv-vpindex`` (docs/divergences.md).  The vmbus bus has no hotplug
handler, so hv-balloon can be created on the command line only and never
removed (``Bus 'vmbus' does not support hotplugging``).

Not emulated: the Dynamic Memory protocol itself (channel, version and
capability negotiation, balloon/unballoon and hot-add operations, the
post-init delay) -- no guest ever opens the channel, so hot-added memory
stays 0 and no memslot is mapped (all decided memslots stay reserved);
``HV_BALLOON_STATUS_REPORT`` events (a guest sends DM_STATUS_REPORT);
the ``balloon``/``query-balloon`` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final

from memdevd import messages as M
from memdevd.machine.backends import HostMemoryBackend
from memdevd.machine.buses import Bus
from memdevd.machine.devices.virtio_balloon import balloon_registered
from memdevd.machine.errors import CoreError
from memdevd.machine.host import GiB, MiB
from memdevd.machine.memory_device import MemoryDeviceMixin, MemoryRegion
from memdevd.machine.qdev import Device, link_prop, parse_bool, parse_uint64, static_prop
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.recorded import InstanceSample
    from memdevd.releases.table import Release

# hw/hyperv/hv-balloon.c, hv-balloon-internal.h
HV_BALLOON_PAGE_SIZE: Final = 4096
HV_BALLOON_HA_MEMSLOT_SIZE_ALIGN: Final = 128 * MiB
# hv_balloon_md_get_min_alignment(): "The VM can indicate an alignment up to 32 GiB."
HV_BALLOON_MIN_ALIGNMENT: Final = 32 * GiB
UUID_VALUE_AUTO: Final = "auto"
VMBUS_BUS_NAME: Final = "vmbus"
SYSBUS_PATH: Final = "/machine/unattached/sysbus"


def _align_up(value: int, align: int) -> int:
    return -(-value // align) * align


def decide_memslots(region_size: int, limit: int) -> tuple[int, int]:
    """``hv_balloon_decide_memslots``: (memslots, memslot size).

    Unlike virtio-mem there is no minimum memslot size beyond the 128 MiB
    alignment and no special case for ``limit`` 1 (the single memslot is the
    whole region then).
    """
    assert region_size > 0 and limit >= 1
    memslot_size = _align_up(region_size // limit, HV_BALLOON_HA_MEMSLOT_SIZE_ALIGN)
    memslots = _align_up(region_size, memslot_size) // memslot_size
    if memslots > 1:
        return memslots, memslot_size
    return memslots, region_size


# --- the VMBus ------------------------------------------------------------------------


class VMBusObject(QOMObject):
    """``TYPE_VMBUS``: the bus, the ``vmbus`` QOM child of the bridge."""

    type_chain = ("vmbus", "bus", "object")

    def class_props(self) -> list[Prop]:
        return [Prop("realized", "bool", lambda o: True, None)]


class VMBusBridge(Device):
    """``vmbus-bridge``: the sysbus device that owns the VMBus."""

    type_chain: ClassVar[tuple[str, ...]] = ("vmbus-bridge", "sys-bus-device", "device", "object")
    bus_type = "System"

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.irq = 7
        self.has_bus = False
        # An error_report() of realize that does not fail it (startup prints it).
        self.realize_report: str | None = None

    def static_props(self) -> list[Prop]:
        return [static_prop("irq", "uint8", "irq", _parse_uint8, default=7)]

    def class_props(self) -> list[Prop]:
        parent_bus = Prop("parent_bus", "link<bus>", lambda o: SYSBUS_PATH, None)
        return [parent_bus, *super().class_props()]

    @property
    def child_bus(self) -> Bus | None:
        """The VMBus, which has no hotplug handler."""
        if not self.has_bus:
            return None
        return Bus(VMBUS_BUS_NAME, "vmbus", False, owner=self)

    def realize(self) -> None:
        """``vmbus_bridge_realize``."""
        machine = self.machine
        if machine.config.board.family not in ("pc", "q35"):
            # qdev_device_add(): the machine does not allow it as a dynamic sysbus device.
            raise CoreError(
                M.INVALID_PARAMETER_VALUE.format(
                    "driver", "a dynamic sysbus device type for the machine"
                )
            )
        if any(isinstance(d, VMBusBridge) for d in machine.devices()):
            raise CoreError(M.VMBUS_BRIDGE_AT_MOST_ONE)
        if not machine.kvm_enabled:
            # hyperv_is_synic_enabled(): SynIC exists only with KVM.
            self.realize_report = M.VMBUS_NEEDS_SYNIC
            return
        self.has_bus = True
        self.add_child(VMBUS_BUS_NAME, VMBusObject())


def _parse_uint8(v: InputVisitor, name: str) -> int:
    return v.type_int(name, "uint8")


def _parse_uuid(v: InputVisitor, name: str) -> str:
    """``set_uuid`` (qdev-properties-system.c): "auto" or the 36-character form."""
    import uuid  # here: importing uuid costs ~3 ms of start-up

    text = v.type_str(name)
    if text == UUID_VALUE_AUTO:
        return str(uuid.uuid4())
    try:
        if len(text) != 36:
            raise ValueError(text)
        return str(uuid.UUID(text))
    except ValueError:
        raise CoreError(M.PROPERTY_DOESNT_TAKE_VALUE.format("hv-balloon", name, text)) from None


# --- hv-balloon ------------------------------------------------------------------------------


class HvBalloon(MemoryDeviceMixin, Device):
    """``TYPE_HV_BALLOON``."""

    type_chain: ClassVar[tuple[str, ...]] = ("hv-balloon", "vmbus-device", "device", "object")
    interfaces: ClassVar[tuple[str, ...]] = ("memory-device",)
    link_attrs: ClassVar[dict[str, str]] = {"memdev": "hostmem"}
    bus_type = "vmbus"
    needs_profile_feature = True
    has_decide_memslots = True
    # pc_get_hotplug_handler(): the machine's handler (hotplug.py looks it up).
    hotplug_handler: ClassVar[type[HvBalloonHotplug]]

    @classmethod
    def available(cls, release: Release) -> bool:
        return release.has_hv_balloon

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        import uuid

        # vmbus_dev_instance_init + the "auto" default: a random instance id.
        self.instanceid = str(uuid.uuid4())
        self.status_report = False
        self.hostmem: HostMemoryBackend | None = None
        self.addr = 0
        # Decided once, by decide_memslots() in memory_device_pre_plug().
        self.memslot_count = 0
        self.memslot_size = 0

    def static_props(self) -> list[Prop]:
        return [
            static_prop("instanceid", "str", "instanceid", _parse_uuid, default=UUID_VALUE_AUTO),
            static_prop("status-report", "bool", "status_report", parse_bool, default=False),
            link_prop("memdev", "memory-backend", "hostmem"),
            static_prop("addr", "uint64", "addr", parse_uint64, default=0),
        ]

    def class_props(self) -> list[Prop]:
        return [
            Prop("parent_bus", "link<bus>", lambda o: _hvb(o).bus_path(), None),
            *super().class_props(),
        ]

    def bus_path(self) -> str:
        for dev in self.machine.devices():
            if isinstance(dev, VMBusBridge) and dev.has_bus:
                return f"{dev.canonical_path()}/{VMBUS_BUS_NAME}"
        return ""

    def recorded_sample(self) -> InstanceSample | None:
        return self.machine.recording.class_sample(self.typename)

    # -- MemoryDeviceClass ----------------------------------------------------------

    def get_addr(self) -> int:
        return self.addr

    def set_addr(self, addr: int) -> None:
        self.addr = addr

    def get_memory_region(self) -> MemoryRegion | None:
        """``hv_balloon_md_get_memory_region``: None (empty) without a memdev.

        The region (``hv_balloon_ensure_mr``) is a container of the memdev's
        size that inherits the memdev's alignment.
        """
        if self.hostmem is None:
            return None
        b = self.hostmem
        return MemoryRegion(b.mr_size, b.mr_align)

    def get_min_alignment(self) -> int:
        return HV_BALLOON_MIN_ALIGNMENT

    def get_plugged_size(self) -> int:
        """``memory_device_get_region_size``: the whole region."""
        mr = self.get_memory_region()
        return mr.size if mr is not None else 0

    def decide_memslots(self, limit: int) -> None:
        """``hv_balloon_decide_memslots``: called once, before realize, with a memdev."""
        assert self.hostmem is not None and not self.memslot_count
        self.memslot_count, self.memslot_size = decide_memslots(self.hostmem.mr_size, limit)

    def get_memslots(self) -> int:
        """``hv_balloon_get_memslots``."""
        assert self.memslot_count > 0, "decide_memslots() runs first"
        return self.memslot_count

    def mapped_memslots(self) -> int:
        """Memslots mapped into device memory: only hot-added memory is (never here)."""
        return 0

    def fill_device_info(self) -> dict[str, Any]:
        """``hv_balloon_md_fill_device_info`` (HvBalloonDeviceInfo member order)."""
        data: dict[str, Any] = {}
        if self.id is not None:
            data["id"] = self.id
        if self.hostmem is not None:
            data["memaddr"] = self.addr
            data["max-size"] = self.hostmem.mr_size
            data["memdev"] = self.hostmem.canonical_path()
        else:
            data["max-size"] = 0
        return {"type": "hv-balloon", "data": data}

    def device_id(self) -> str | None:
        return self.id

    def is_realized(self) -> bool:
        return self.realized

    # -- realize ----------------------------------------------------------------------

    def realize(self) -> None:
        """``vmbus_dev_realize`` then ``hv_balloon_vmdev_realize``: checks only."""
        machine = self.machine
        for dev in machine.devices():
            if isinstance(dev, HvBalloon) and dev.instanceid == self.instanceid:
                raise CoreError(M.VMBUS_DUPLICATE_INSTANCE_ID.format(self.instanceid))
        if balloon_registered(machine):
            raise CoreError(M.HV_BALLOON_ONLY_ONE)
        if self.hostmem is not None:
            b = self.hostmem
            if b.mapped:
                raise CoreError(M.HV_BALLOON_MEMDEV_BUSY.format(b.id))
            # "This is rather unlikely to happen, but let's still check for it."
            if b.mr_size % HV_BALLOON_PAGE_SIZE:
                raise CoreError(M.HV_BALLOON_MEMDEV_SIZE.format(HV_BALLOON_PAGE_SIZE))
        elif self.addr:
            raise CoreError(M.HV_BALLOON_ADDR_WITHOUT_MEMDEV)

    def commit(self) -> None:
        """The rest of realize: the memdev is mapped, the container region exists."""
        if self.hostmem is None:
            return
        self.hostmem.mapped = True
        self.hostmem.mapped_by = self
        self.add_child("hv-balloon[0]", MemoryRegionObject(self.hostmem.mr_size))

    def qom_region(self) -> MemoryRegionObject | None:
        child = self.children.get("hv-balloon[0]")
        return child if isinstance(child, MemoryRegionObject) else None

    def unrealize(self) -> None:
        if self.hostmem is not None:
            self.hostmem.mapped = False
            self.hostmem.mapped_by = None


def _hvb(obj: QOMObject) -> HvBalloon:
    assert isinstance(obj, HvBalloon)
    return obj


class HvBalloonHotplug:
    """``pc_hv_balloon_pre_plug`` / ``pc_hv_balloon_plug`` (hw/i386/pc.c)."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def pre_plug(self, dev: Device) -> int:
        """``memory_device_pre_plug``; never a hot-plug (the vmbus refuses it)."""
        hvb = _hvb(dev)
        addr = self.machine.memory.pre_plug(hvb)
        # Set right away, as memory_device_pre_plug() does; a failed
        # device_add throws the device away.
        hvb.set_addr(addr)
        return addr

    def commit(self, dev: Device, decided: Any) -> None:
        _hvb(dev).commit()

    def plug(self, dev: Device) -> None:
        """``memory_device_plug``: accounting; no memslot is mapped before a hot-add."""
        hvb = _hvb(dev)
        self.machine.memory.plug(hvb)
        self.machine.map_region(hvb.qom_region(), hvb.addr)

    def unplug_request(self, dev: Device) -> None:
        # qdev_unplug() refuses first: the vmbus has no hotplug handler.
        raise CoreError(M.BUS_NO_HOTPLUG.format(VMBUS_BUS_NAME))

    def unplug(self, dev: Device) -> None:
        hvb = _hvb(dev)
        self.machine.memory.unplug(hvb)
        region = hvb.qom_region()
        if region is not None:
            region.unmap()


HvBalloon.hotplug_handler = HvBalloonHotplug


# --- QMP ---------------------------------------------------------------------------------------


def query_hv_balloon_status_report(machine: Machine) -> dict[str, Any]:
    """``qmp_query_hv_balloon_status_report``.

    No guest sends DM_STATUS_REPORT here, so with ``status-report=on`` the
    answer is always that none was received yet.
    """
    balloons = [d for d in machine.devices() if isinstance(d, HvBalloon) and d.realized]
    if len(balloons) != 1:
        raise CoreError(M.HV_BALLOON_NOT_PRESENT)
    if not balloons[0].status_report:
        raise CoreError(M.HV_BALLOON_STATUS_NOT_ENABLED)
    raise CoreError(M.HV_BALLOON_NO_STATUS_YET)
