"""virtio-mem-pci (hw/virtio/virtio-mem.c, virtio-mem-pci.c) and its simulated guest driver.

:class:`VirtioMEM` is the inner ``virtio-mem`` device: its properties and
setters with QEMU's texts, the realize checks in QEMU's order, the block
bitmap (plugged size), the usable region, unplug-all on system reset and,
from 8.2 on, the memslot decision of ``dynamic-memslots``.
:class:`VirtioMEMPCI` is the ``virtio-mem-pci`` proxy a client creates; it
answers ``MemoryDeviceClass`` for the memory-device core (region = the whole
memdev, alignment = ``block-size``, plugged size = ``size``) and sends
``MEMORY_DEVICE_SIZE_CHANGE`` through the monitor's throttle.

QEMU changes ``size`` only when a guest driver plugs or unplugs blocks.
:class:`VirtioMemDriver` stands in for Linux's virtio-mem driver: while the
VM runs and memdevd's guest is not ``none``, it moves ``size`` towards
``requested-size`` by whole blocks at a configurable rate; a paused VM or
guest ``none`` moves nothing (what a QEMU without a guest shows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Final

from memdevd import messages as M
from memdevd.machine.backends import HostMemoryBackend, RamBackend
from memdevd.machine.clock import Timer
from memdevd.machine.errors import CoreError
from memdevd.machine.guest import GuestAction, GuestConfig, VirtioMemGuestRate
from memdevd.machine.host import GiB, HostFacts, MiB
from memdevd.machine.qdev import (
    link_prop,
    parse_bool,
    parse_on_off_auto,
    parse_uint32,
    parse_uint64,
    static_prop,
)
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject
from memdevd.machine.virtio_md import VirtioDevice, VirtioMDPCI
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

# hw/virtio/virtio-mem.c
VIRTIO_MEM_MIN_BLOCK_SIZE: Final = 1 * MiB
VIRTIO_MEM_MIN_MEMSLOT_SIZE: Final = 1 * GiB
# x86: Linux adds memory in 128 MiB sections; the usable region reaches
# two sections beyond the requested size.
VIRTIO_MEM_USABLE_EXTENT: Final = 2 * 128 * MiB


# --- the simulated guest's rate ------------------------------------------------


DEFAULT_GUEST_RATE: Final = VirtioMemGuestRate()


# --- helpers mirroring virtio-mem.c ----------------------------------------------


def thp_size(host: HostFacts) -> int:
    """``virtio_mem_thp_size``: the host's THP size (1 MiB without THP)."""
    return host.thp_size or VIRTIO_MEM_MIN_BLOCK_SIZE


def default_block_size(host: HostFacts, backend: HostMemoryBackend) -> int:
    """``virtio_mem_default_block_size``: THP size on normal pages, else >= 1 MiB."""
    page = backend.page_size
    if page == host.page_size:
        return max(page, thp_size(host))
    return max(page, VIRTIO_MEM_MIN_BLOCK_SIZE)


def has_shared_zeropage(host: HostFacts, backend: HostMemoryBackend) -> bool:
    """``virtio_mem_has_shared_zeropage``: private anonymous RAM on host pages."""
    return (
        not backend.share
        and isinstance(backend, RamBackend)
        and backend.page_size == host.page_size
    )


def _align_up(value: int, align: int) -> int:
    return -(-value // align) * align


def decide_memslots(
    region_size: int, block_size: int, page_size: int, limit: int
) -> tuple[int, int]:
    """``virtio_mem_decide_memslots`` for a decided block size: (memslots, memslot size).

    A memslot size of 0 means "the whole region" (QEMU leaves
    ``memslot_size`` unset for a single memslot; realize fills it in).
    """
    if limit <= 1:
        return 1, 0
    # "If realizing the device will fail, just assume a single memslot."
    if block_size < page_size or region_size % block_size:
        return 1, 0
    memslot_size = _align_up(region_size // limit, block_size)
    memslot_size = max(memslot_size, max(block_size, VIRTIO_MEM_MIN_MEMSLOT_SIZE))
    memslots = _align_up(region_size, memslot_size) // memslot_size
    return memslots, memslot_size if memslots != 1 else 0


# --- the inner virtio-mem device -----------------------------------------------------


class VirtioMEM(VirtioDevice):
    """``TYPE_VIRTIO_MEM``: the ``virtio-backend`` child of a virtio-mem-pci."""

    type_chain: ClassVar[tuple[str, ...]] = ("virtio-mem", "virtio-device", "device", "object")
    abstract = False

    def __init__(self, machine: Machine, proxy: VirtioMDPCI) -> None:
        super().__init__(machine, proxy)
        release = machine.release
        compat = machine.compat
        self.node = 0
        self.prealloc = False
        # The release's default, unless the machine type keeps an older one
        # (pc_compat_6_2, pc_compat_8_0).
        self.unplugged_inaccessible = compat.get(
            "virtio-mem.unplugged-inaccessible", release.unplugged_inaccessible_default
        )
        if not machine.config.board.virtio_mem_legacy_guests:
            # (no such property: unplugged memory is always inaccessible)
            self.unplugged_inaccessible = "on"
        # hw_compat_7_2.
        self.early_migration = compat.get("virtio-mem.x-early-migration", True)
        self.dynamic_memslots = False
        self.requested_size = 0
        # 0: not configured; realize (or decide_memslots) picks the default.
        self.block_size = 0
        self.size = 0
        self.usable_region_size = 0
        # Plugged blocks form a prefix of the region: the simulated driver
        # plugs upwards and unplugs the highest blocks first (Linux onlines
        # memory blocks in address order), so a count is the whole bitmap.
        self.plugged_blocks = 0
        self.nb_memslots = 0
        self.memslot_size = 0
        self.size_change_notifiers: list[Callable[[int], None]] = []
        self.driver = VirtioMemDriver(self)

    # -- properties ---------------------------------------------------------------

    def static_props(self) -> list[Prop]:
        release = self.machine.release
        props = [
            static_prop("memaddr", "uint64", "memaddr", parse_uint64, default=0),
            static_prop("node", "uint32", "node", parse_uint32, default=0),
            static_prop("prealloc", "bool", "prealloc", parse_bool, default=False),
            link_prop("memdev", "memory-backend", "hostmem"),
        ]
        if self.machine.config.board.virtio_mem_legacy_guests:
            props.append(
                static_prop(
                    "unplugged-inaccessible",
                    "OnOffAuto",
                    "unplugged_inaccessible",
                    parse_on_off_auto,
                    default=release.unplugged_inaccessible_default,
                )
            )
        if release.virtio_mem_early_migration:
            props.append(
                static_prop(
                    "x-early-migration",
                    "bool",
                    "early_migration",
                    parse_bool,
                    default=True,
                )
            )
        if release.memslot_accounting:
            props.append(
                static_prop(
                    "dynamic-memslots",
                    "bool",
                    "dynamic_memslots",
                    parse_bool,
                    default=False,
                )
            )
        return props

    def size_props(self) -> list[Prop]:
        """``virtio_mem_instance_init``'s properties (not qdev static ones)."""
        return [
            Prop("size", "size", lambda o: _vmem(o).size, None),
            Prop("requested-size", "size", lambda o: _vmem(o).requested_size, _set_requested_size),
            Prop("block-size", "size", lambda o: _vmem(o).get_block_size(), _set_block_size),
        ]

    def class_props(self) -> list[Prop]:
        return [*super().class_props(), *self.size_props()]

    def alias_props(self) -> list[Prop]:
        # virtio-mem-pci aliases block-size and size; requested-size is a
        # property of the proxy itself (it refuses changes during unplug).
        return [p for p in (*self.static_props(), *self.size_props()) if p.name != "requested-size"]

    def get_block_size(self) -> int:
        """``virtio_mem_get_block_size``: the default until one is decided."""
        if self.block_size:
            return self.block_size
        if self.hostmem is not None and self.hostmem.mr_inited():
            return default_block_size(self.machine.host, self.hostmem)
        return thp_size(self.machine.host)

    def region_size(self) -> int:
        assert self.hostmem is not None
        return self.hostmem.mr_size

    # -- realize ------------------------------------------------------------------

    def realize_checks(self) -> None:
        """``virtio_mem_device_realize``'s checks, in QEMU's order.

        The two values realize settles (``unplugged-inaccessible`` auto and
        the default block size) are stored on this device only.
        """
        machine = self.machine
        host = machine.host
        b = self.hostmem
        if b is None:
            raise CoreError(M.MEMDEV_NOT_SET)
        if b.mapped:
            raise CoreError(M.VIRTIO_MEM_MEMDEV_BUSY.format(b.id))
        if b.readonly_region:
            raise CoreError(M.VIRTIO_MEM_MEMDEV_UNSUPPORTED)
        if machine.release.virtio_mem_early_migration and b.prealloc:
            raise CoreError(M.VIRTIO_MEM_MEMDEV_PREALLOC.format(b.id))
        nb_nodes = machine.numa.num_nodes
        if (nb_nodes and self.node >= nb_nodes) or (not nb_nodes and self.node):
            raise CoreError(M.VIRTIO_MEM_NODE_EXCEEDS.format(self.node, nb_nodes or 1))
        # (-overcommit mem-lock=on would fail here: "Incompatible with mlock".)
        page_size = b.page_size
        if self.unplugged_inaccessible == "auto":
            self.unplugged_inaccessible = "off" if has_shared_zeropage(host, b) else "on"
        if self.dynamic_memslots and self.unplugged_inaccessible != "on":
            raise CoreError(M.VIRTIO_MEM_DYNAMIC_MEMSLOTS_NEED_INACCESSIBLE)
        if not self.block_size:
            self.block_size = default_block_size(host, b)
        bs = self.block_size
        if bs < page_size:
            raise CoreError(M.VIRTIO_MEM_BLOCK_SIZE_BELOW_PAGE.format(page_size))
        # (A block size below the default is only a warning on stderr.)
        if self.requested_size % bs:
            raise CoreError(M.VIRTIO_MEM_REQUESTED_SIZE_NOT_MULTIPLE.format(bs))
        if self.memaddr % bs:
            raise CoreError(M.VIRTIO_MEM_MEMADDR_NOT_MULTIPLE.format(bs))
        if b.mr_size % bs:
            raise CoreError(M.VIRTIO_MEM_MEMDEV_SIZE_NOT_MULTIPLE.format(bs))

    def commit(self) -> None:
        """The rest of realize: usable region, bitmap, memslots, backend mapped."""
        b = self.hostmem
        assert b is not None
        self.resize_usable_region(self.requested_size, can_shrink=True)
        self.plugged_blocks = 0
        self.size = 0
        if self.dynamic_memslots:
            if self.nb_memslots <= 1:
                self.nb_memslots = 1
                self.memslot_size = b.mr_size
            self._prepare_memslots(b.mr_size)
        b.mapped = True
        b.mapped_by = self.proxy
        super().commit()

    def _prepare_memslots(self, region_size: int) -> None:
        """``virtio_mem_prepare_mr`` / ``virtio_mem_prepare_memslots``: QOM children.

        The ``virtio-mem`` container is what gets mapped at ``memaddr``; the
        ``memslot-N`` aliases of the memdev are mapped into it when active.
        """
        self.add_child("virtio-mem[0]", MemoryRegionObject(region_size))
        for idx in range(self.nb_memslots):
            offset = idx * self.memslot_size
            size = min(self.memslot_size, region_size - offset)
            self.add_child(f"memslot-{idx}[0]", MemoryRegionObject(size, addr=offset))

    def qom_region(self) -> MemoryRegionObject | None:
        if self.dynamic_memslots:
            child = self.children.get("virtio-mem[0]")
            return child if isinstance(child, MemoryRegionObject) else None
        return super().qom_region()

    def _sync_memslot_children(self) -> None:
        container = self.qom_region()
        active = self.mapped_memslots()
        for idx in range(self.nb_memslots):
            child = self.children.get(f"memslot-{idx}[0]")
            if not isinstance(child, MemoryRegionObject) or container is None:
                continue
            if idx < active:
                child.map(container.canonical_path(), idx * self.memslot_size)
            else:
                child.unmap()

    def unrealize(self) -> None:
        self.driver.stop()
        if self.hostmem is not None:
            self.hostmem.mapped = False
            self.hostmem.mapped_by = None
        super().unrealize()

    # -- memory-device hooks --------------------------------------------------------

    def decide_memslots(self, limit: int) -> None:
        """``virtio_mem_decide_memslots`` (8.2+), called once before realize."""
        if not self.dynamic_memslots:
            return
        b = self.hostmem
        if limit <= 1 or b is None or not b.mr_inited():
            self.nb_memslots = 1
            return
        if not self.block_size:
            self.block_size = default_block_size(self.machine.host, b)
        memslots, memslot_size = decide_memslots(b.mr_size, self.block_size, b.page_size, limit)
        self.nb_memslots = memslots
        if memslot_size:
            self.memslot_size = memslot_size

    def get_memslots(self) -> int:
        """``virtio_mem_get_memslots``."""
        if not self.dynamic_memslots:
            return 1
        assert self.nb_memslots, "decide_memslots() runs first"
        return self.nb_memslots

    def mapped_memslots(self) -> int:
        """Without dynamic memslots the whole memdev is one mapped section;
        with them, every memslot holding a plugged block is mapped."""
        if not self.realized:
            return 0
        if not self.dynamic_memslots:
            return 1
        return _align_up(self.size, self.memslot_size) // self.memslot_size

    def fill_device_info(self, data: dict[str, Any]) -> dict[str, Any]:
        """``virtio_mem_fill_device_info`` (VirtioMEMDeviceInfo member order)."""
        data["memaddr"] = self.memaddr
        data["requested-size"] = self.requested_size
        data["size"] = self.size
        data["max-size"] = self.hostmem.mr_size if self.hostmem is not None else 0
        data["block-size"] = self.block_size
        data["node"] = self.node
        data["memdev"] = self.hostmem.canonical_path() if self.hostmem is not None else ""
        return data

    # -- state changes ---------------------------------------------------------------

    def resize_usable_region(self, requested_size: int, *, can_shrink: bool) -> None:
        """``virtio_mem_resize_usable_region``."""
        newsize = min(self.region_size(), requested_size + VIRTIO_MEM_USABLE_EXTENT)
        newsize = _align_up(newsize, self.block_size)
        if not requested_size:
            newsize = 0
        if newsize < self.usable_region_size and not can_shrink:
            return
        self.usable_region_size = newsize

    def set_plugged_blocks(self, blocks: int) -> None:
        """A granted plug/unplug request: bitmap, memslots, ``size``, notifiers."""
        if blocks == self.plugged_blocks:
            return
        before = self.mapped_memslots()
        self.plugged_blocks = blocks
        self.size = blocks * self.block_size
        after = self.mapped_memslots()
        # Memslots are (de)activated as blocks in them get (un)plugged; the
        # memory listener counts them as used memslots.
        if after > before:
            self.machine.memory.region_mapped(after - before)
        elif before > after:
            self.machine.memory.region_unmapped(before - after)
        if self.dynamic_memslots:
            self._sync_memslot_children()
        for notify in list(self.size_change_notifiers):
            notify(self.size)

    def set_requested_size(self, value: int, name: str) -> None:
        """``virtio_mem_set_requested_size`` once realized."""
        if value % self.block_size:
            raise CoreError(M.VIRTIO_MEM_SET_NOT_MULTIPLE.format(name, self.block_size))
        if value > self.region_size():
            raise CoreError(M.VIRTIO_MEM_SET_EXCEEDS_BACKEND.format(name, self.region_size()))
        if value != self.requested_size:
            self.resize_usable_region(value, can_shrink=False)
            self.requested_size = value
        # virtio_notify_config(): the guest hears about it even if unchanged.
        self.driver.kick()

    def system_reset(self) -> None:
        """``virtio_mem_unplug_all`` from the system reset handler."""
        if self.size:
            self.set_plugged_blocks(0)
        self.resize_usable_region(self.requested_size, can_shrink=True)
        # The rebooted guest loads its driver again.
        self.driver.kick()

    def unplug_request_check(self) -> None:
        """``virtio_mem_unplug_request_check`` (8.1+)."""
        if self.unplugged_inaccessible == "off":
            raise CoreError(M.VIRTIO_MEM_UNPLUG_NOT_INACCESSIBLE)
        if self.size:
            raise CoreError(M.VIRTIO_MEM_UNPLUG_STILL_PLUGGED)
        if self.requested_size:
            raise CoreError(M.VIRTIO_MEM_UNPLUG_REQUESTED_SIZE)


def _vmem(obj: QOMObject) -> VirtioMEM:
    assert isinstance(obj, VirtioMEM)
    return obj


def _set_requested_size(obj: QOMObject, v: InputVisitor, name: str) -> None:
    vmem = _vmem(obj)
    value = v.type_size(name)
    # "The block size and memory backend are not fixed until the device was
    # realized. realize() will verify these properties then."
    if vmem.realized:
        vmem.set_requested_size(value, name)
    else:
        vmem.requested_size = value


def _set_block_size(obj: QOMObject, v: InputVisitor, name: str) -> None:
    vmem = _vmem(obj)
    if vmem.realized:
        raise CoreError(M.VIRTIO_MEM_SET_CANNOT_CHANGE.format(name))
    value = v.type_size(name)
    if value < VIRTIO_MEM_MIN_BLOCK_SIZE:
        raise CoreError(
            M.VIRTIO_MEM_SET_BLOCK_SIZE_TOO_SMALL.format(name, VIRTIO_MEM_MIN_BLOCK_SIZE)
        )
    if value & (value - 1):
        raise CoreError(M.VIRTIO_MEM_SET_BLOCK_SIZE_NOT_POW2.format(name))
    vmem.block_size = value


# --- the proxy --------------------------------------------------------------------


class VirtioMEMPCI(VirtioMDPCI):
    """``virtio-mem-pci``."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "virtio-mem-pci",
        "virtio-mem-pci-base",
        "virtio-pci",
        "pci-device",
        "device",
        "object",
    )
    proxy_types = ("virtio-mem-pci", "virtio-mem-pci-base")
    vdev_class = VirtioMEM
    abstract = False
    info_kind = "virtio-mem"
    has_unplug_request_check = True

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.has_decide_memslots = machine.release.memslot_accounting
        # virtio_mem_pci_instance_init: never removed, both go away together.
        self.mem.size_change_notifiers.append(self._size_change_notify)

    @property
    def mem(self) -> VirtioMEM:
        assert isinstance(self.vdev, VirtioMEM)
        return self.vdev

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            Prop(
                "requested-size",
                "size",
                lambda o: _proxy(o).mem.requested_size,
                _set_proxy_requested_size,
            ),
        ]

    # -- MemoryDeviceClass ---------------------------------------------------------

    def get_plugged_size(self) -> int:
        return self.mem.size

    def get_min_alignment(self) -> int:
        return self.mem.get_block_size()

    def decide_memslots(self, limit: int) -> None:
        self.mem.decide_memslots(limit)

    def get_memslots(self) -> int:
        return self.mem.get_memslots()

    # -- lifecycle ------------------------------------------------------------------

    def unplug_request_check(self) -> None:
        self.mem.unplug_request_check()

    def plugged(self) -> None:
        self.mem.driver.kick()

    def unplugged(self) -> None:
        self.mem.driver.stop()

    def guest_wakeup(self) -> None:
        """Machine.guest_wakeup(): the driver may move toward requested-size."""
        super().guest_wakeup()
        vdev = self.vdev
        if isinstance(vdev, VirtioMEM):
            vdev.driver.kick()

    def guest_cancel(self) -> None:
        super().guest_cancel()
        vdev = self.vdev
        if isinstance(vdev, VirtioMEM):
            vdev.driver.stop()

    def reset(self) -> None:
        """Machine.system_reset: QEMU's virtio-mem system reset handler."""
        self.mem.system_reset()

    def _size_change_notify(self, size: int) -> None:
        """``virtio_mem_pci_size_change_notify``: the event, through the throttle."""
        data: dict[str, Any] = {}
        if self.id is not None:
            data["id"] = self.id
        data["size"] = size
        data["qom-path"] = self.canonical_path()
        self.machine.emit("MEMORY_DEVICE_SIZE_CHANGE", data)


def _proxy(obj: QOMObject) -> VirtioMEMPCI:
    assert isinstance(obj, VirtioMEMPCI)
    return obj


def _set_proxy_requested_size(obj: QOMObject, v: InputVisitor, name: str) -> None:
    """``virtio_mem_pci_set_requested_size``."""
    proxy = _proxy(obj)
    # Once the unplug check passed (requested-size 0) the size must stay,
    # or the guest could plug memory before handling the unplug request.
    if proxy.pending_deleted_event:
        raise CoreError(M.VIRTIO_MEM_SET_UNPLUG_PENDING.format(name))
    _set_requested_size(proxy.mem, v, name)


# --- the simulated guest driver ---------------------------------------------------------


class VirtioMemDriver:
    """Linux's virtio-mem driver, reduced to what QMP can observe.

    Each step asks for whole blocks (at most the rate's bytes, at least one
    block): plugs the lowest unplugged blocks of the usable region while
    ``size`` is below ``requested-size``, unplugs the highest plugged ones
    while it is above.  Every granted request changes ``size`` and
    notifies, as ``virtio_mem_state_change_request`` does.  The ``slow``
    guest starts its delay after each configuration change; the ``refuse``
    guest plugs but cannot offline memory, so it never unplugs.
    """

    def __init__(self, vmem: VirtioMEM) -> None:
        self.vmem = vmem
        self.machine = vmem.machine
        self._timer: Timer | GuestAction | None = None

    @property
    def rate(self) -> VirtioMemGuestRate:
        return self.guest_config.virtio_mem_rate or DEFAULT_GUEST_RATE

    @property
    def busy(self) -> bool:
        return self._timer is not None

    @property
    def guest_config(self) -> GuestConfig:
        return self.machine.guest.config_for(self.vmem.proxy)

    def kick(self) -> None:
        """A configuration change reached the guest: act after its delay."""
        if self._timer is not None:
            return
        self._timer = self.machine.guest.after(self.guest_config, self._step)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wanted_blocks(self) -> int:
        """The plugged block count the driver heads for."""
        vmem = self.vmem
        bs = vmem.block_size
        target = min(vmem.requested_size, vmem.usable_region_size)
        return target // bs

    def _step(self) -> None:
        self._timer = None
        vmem = self.vmem
        if not (vmem.realized and vmem.proxy.realized):
            return
        wanted = self._wanted_blocks()
        current = vmem.plugged_blocks
        if wanted == current:
            return
        guest = self.guest_config
        unplug = wanted < current
        if (
            not guest.active
            or not guest.virtio_mem_driver
            or not self.machine.running
            or (unplug and guest.mode == "refuse")
        ):
            # Nothing happens until Machine.guest_wakeup() kicks the driver.
            return
        rate = self.rate
        step = max(1, rate.bytes_per_step // vmem.block_size)
        if unplug:
            vmem.set_plugged_blocks(current - min(step, current - wanted))
        else:
            vmem.set_plugged_blocks(current + min(step, wanted - current))
        if vmem.plugged_blocks != self._wanted_blocks():
            self._timer = self.machine.clock.call_later(rate.step_ns, self._step)
