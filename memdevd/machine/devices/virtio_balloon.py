"""virtio-balloon-pci (hw/virtio/virtio-balloon.c, system/balloon.c).

Not a memory device, but the other half of how management software sizes
a VM's memory: libvirt sets the balloon target to the domain's memory at
start (``balloon``) and reads ``query-balloon`` after every memory hot-plug
for ``<currentMemory>``.  The balloon sees the VM's *current RAM size*:
``-m`` plus the pc-dimms (``get_current_ram_size``: 7.2 sums realized
pc-dimms, 10.0 reads ``device_memory->dimm_size``, which counts the same:
pc-dimms, not nvdimms, not virtio devices).

``balloon VALUE`` sets the number of pages the guest should give back,
``(current RAM - min(VALUE, current RAM)) / 4 KiB``; ``query-balloon``
reports ``current RAM - actual pages * 4 KiB`` where *actual* is what the
guest driver last acknowledged.  Without a guest (QEMU with firmware only)
actual stays 0; a simulated guest acknowledges the target after its delay
while the VM runs, and QEMU then emits ``BALLOON_CHANGE``.

The device is a PCI proxy (``virtio-balloon-pci``) with the virtio device
inside as in QEMU; its ``guest-stats`` and ``guest-stats-polling-interval``
properties are aliased on the proxy.  Statistics are never reported by the
simulated guest: every counter reads as QEMU's "unset" value (2^64 - 1) and
``last-update`` as 0, which is what QEMU shows until a driver reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.devices.generic import CatalogMixin
from memdevd.machine.devices.pcie_root_port import PassivePCIDevice
from memdevd.machine.errors import CoreError, ErrorClass
from memdevd.machine.guest import GuestAction
from memdevd.machine.qom import Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.table import Release

# VIRTIO_BALLOON_PFN_SHIFT
PFN_SHIFT = 12
UINT64_MAX = (1 << 64) - 1
UINT32_MAX = (1 << 32) - 1

# balloon_stat_names[], in QEMU's order, per release.
_STATS_7_2 = (
    "stat-swap-in",
    "stat-swap-out",
    "stat-major-faults",
    "stat-minor-faults",
    "stat-free-memory",
    "stat-total-memory",
    "stat-available-memory",
    "stat-disk-caches",
    "stat-htlb-pgalloc",
    "stat-htlb-pgfail",
)
_STATS_10_0 = (
    *_STATS_7_2,
    "stat-oom-kills",
    "stat-alloc-stalls",
    "stat-async-scans",
    "stat-direct-scans",
    "stat-async-reclaims",
    "stat-direct-reclaims",
)


def stat_names(release: Release) -> tuple[str, ...]:
    return _STATS_10_0 if release.balloon_reclaim_stats else _STATS_7_2


def balloon_registered(machine: Machine) -> bool:
    """``qemu_add_balloon_handler`` fails once a balloon (virtio or hv-balloon) exists."""
    return any(
        dev.is_a("virtio-balloon-pci") or dev.is_a("hv-balloon") for dev in machine.devices()
    )


class VirtioBalloonPCI(CatalogMixin, PassivePCIDevice):
    """``virtio-balloon-pci``: the balloon and its PCI proxy in one object;
    the properties memdevd does not model (``deflate-on-oom``,
    ``free-page-reporting``...) are the recorded catalog's."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "virtio-balloon-pci",
        "virtio-balloon-pci-base",
        "virtio-pci",
        "pci-device",
        "device",
        "object",
    )
    description = ""

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        # num_pages: what QEMU asks for; actual: what the guest gave.
        self.num_pages = 0
        self.actual = 0
        self.stats_poll_interval = 0
        self.inflate_action: GuestAction | None = None
        info = machine.recording.device_type("virtio-balloon-pci")
        assert info is not None, "virtio-balloon-pci is in every recorded catalog"
        self.catalog = info  # type: ignore[misc]
        self.values: dict[str, Any] = {}

    def class_props_key(self) -> str | None:
        return f"catalog-{self.machine.recording.recorded_as}"

    def class_props(self) -> list[Prop]:
        modelled = {"guest-stats", "guest-stats-polling-interval"}
        return [
            *super().class_props(),
            *(p for p in self.catalog_props() if p.name not in modelled),
            Prop("guest-stats", "guest statistics", lambda o: _balloon(o).guest_stats(), None),
            Prop(
                "guest-stats-polling-interval",
                "int",
                lambda o: _balloon(o).stats_poll_interval,
                _set_poll_interval,
            ),
        ]

    def realize(self) -> None:
        # machine.devices() holds realized devices only: never this one.
        if balloon_registered(self.machine):
            raise CoreError(M.HV_BALLOON_ONLY_ONE)
        super().realize()

    def unrealize(self) -> None:
        self.guest_cancel()
        super().unrealize()

    # -- the balloon ------------------------------------------------------------

    def guest_stats(self) -> dict[str, Any]:
        names = stat_names(self.machine.release)
        return {"last-update": 0, "stats": dict.fromkeys(names, UINT64_MAX)}

    def current_ram_size(self) -> int:
        """``get_current_ram_size``: RAM plus pc-dimms (not nvdimms)."""
        return self.machine.config.ram_size + self.machine.dimm_ram_size()

    def info(self) -> dict[str, int]:
        """``virtio_balloon_stat``: what ``query-balloon`` reports."""
        return {"actual": self.current_ram_size() - (self.actual << PFN_SHIFT)}

    def to_target(self, target: int) -> None:
        """``virtio_balloon_to_target``: ask the guest for a new size."""
        ram = self.current_ram_size()
        target = min(target, ram)
        if target:
            self.num_pages = (ram - target) >> PFN_SHIFT
            self.notify_guest()

    def notify_guest(self) -> None:
        """``virtio_notify_config``: a guest driver acknowledges the target."""
        if self.inflate_action is not None or self.actual == self.num_pages:
            return
        config = self.machine.guest.config_for(self)
        if not config.active or config.mode == "refuse":
            return
        self.inflate_action = self.machine.guest.after(config, self._guest_acknowledges)

    def _guest_acknowledges(self) -> None:
        self.inflate_action = None
        config = self.machine.guest.config_for(self)
        if not self.realized or not config.active or config.mode == "refuse":
            return
        if not self.machine.running:
            # Tried again from guest_wakeup() when the VM runs.
            return
        self.set_actual(self.num_pages)

    def set_actual(self, pages: int) -> None:
        """``virtio_balloon_set_config``: the guest reports its balloon."""
        old = self.actual
        self.actual = pages
        if pages != old:
            ram = self.current_ram_size()
            self.machine.emit("BALLOON_CHANGE", {"actual": ram - (pages << PFN_SHIFT)})

    def guest_wakeup(self) -> None:
        super().guest_wakeup()
        self.notify_guest()

    def guest_cancel(self) -> None:
        super().guest_cancel()
        if self.inflate_action is not None:
            self.inflate_action.cancel()
            self.inflate_action = None

    def reset(self) -> None:
        # virtio_balloon_reset(): the driver starts over (actual 0);
        # num_pages (the host's request) is kept.
        self.guest_cancel()
        self.actual = 0


def _balloon(obj: QOMObject) -> VirtioBalloonPCI:
    assert isinstance(obj, VirtioBalloonPCI)
    return obj


def _set_poll_interval(obj: QOMObject, v: InputVisitor, name: str) -> None:
    """``balloon_stats_set_poll_interval``."""
    value = v.type_int(name, "int64")
    if value < 0:
        raise CoreError(M.BALLOON_TIMER_NEGATIVE)
    if value > UINT32_MAX:
        raise CoreError(M.BALLOON_TIMER_TOO_BIG)
    _balloon(obj).stats_poll_interval = value


def find_balloon(machine: Machine) -> VirtioBalloonPCI:
    """``have_balloon``: the machine's balloon or QEMU's DeviceNotActive error."""
    for dev in machine.devices():
        if isinstance(dev, VirtioBalloonPCI) and dev.realized:
            return dev
    raise CoreError(M.BALLOON_NOT_ACTIVE, ErrorClass.DEVICE_NOT_ACTIVE)
