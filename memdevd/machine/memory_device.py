"""The memory-device core: hw/mem/memory-device.c and memory-device.h.

Every memory device type (pc-dimm, nvdimm, virtio-mem-pci, virtio-pmem-pci,
sgx-epc, hv-balloon) implements :class:`MemoryDeviceClass`, the Python form
of QEMU's ``MemoryDeviceClass``.  This module owns what QEMU's
``memory-device.c`` owns: ``pre_plug`` (every check and the address
assignment, changing nothing on failure), ``plug``, ``unplug``, the address
allocator, the sorted device list behind ``query-memory-devices`` and the
plugged size behind ``query-memory-size-summary``.  Device types never
reimplement these.

The three emulated releases differ here (see :mod:`memdevd.releases.table`): 7.2
checks space and slots inside the allocator and the size against the full
alignment; 8.2 moved those checks into ``pre_plug``, added memslot
accounting and empty devices, and dropped the size check; 9.0 brought the
size check back against the backend alignment only.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.memslots import MemslotLimits
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.releases.table import Release

UINT64_MAX = (1 << 64) - 1
MEMORY_DEVICES_SOFT_MEMSLOT_LIMIT = 256
MEMORY_DEVICES_SAFE_MAX_MEMSLOTS = 509


@record
class MemoryRegion:
    """What QEMU's allocator needs of a ``MemoryRegion``: size and alignment."""

    size: int
    align: int
    ram: bool = True
    rom: bool = False


@runtime_checkable
class MemoryDeviceClass(Protocol):
    """``MemoryDeviceClass`` (include/hw/mem/memory-device.h, QEMU 8.2).

    Optional hooks of the C interface are plain methods here with the
    default behaviour QEMU assumes when a hook is absent; a class that
    implements ``decide_memslots`` sets ``has_decide_memslots``.
    """

    has_decide_memslots: bool

    def get_addr(self) -> int:
        """Address in guest physical memory; 0 means "not assigned yet"."""
        ...

    def set_addr(self, addr: int) -> None: ...

    def get_plugged_size(self) -> int:
        """Memory currently usable by the guest (virtio-mem: plugged blocks)."""
        ...

    def get_memory_region(self) -> MemoryRegion | None:
        """The region to map; ``None`` for an empty device (8.2+); raises on error."""
        ...

    def get_memslots(self) -> int:
        """Memslots the device needs (default 1)."""
        ...

    def get_min_alignment(self) -> int:
        """Minimum alignment in guest physical memory (default 0)."""
        ...

    def fill_device_info(self) -> dict[str, Any]:
        """The ``MemoryDeviceInfo`` union member: ``{"type": ..., "data": {...}}``."""
        ...

    def decide_memslots(self, limit: int) -> None:
        """8.2: choose how many memslots to use, given an upper limit."""
        ...

    def device_id(self) -> str | None: ...

    def qom_path(self) -> str: ...

    def is_realized(self) -> bool: ...


class MemoryDeviceMixin:
    """Defaults for the optional ``MemoryDeviceClass`` hooks."""

    has_decide_memslots = False

    def get_memslots(self) -> int:
        return 1

    def get_min_alignment(self) -> int:
        return 0

    def decide_memslots(self, limit: int) -> None:
        return None


@record
class DeviceMemoryState:
    """``DeviceMemoryState`` (include/hw/boards.h)."""

    base: int
    size: int
    used_region_size: int = 0
    required_memslots: int = 0
    used_memslots: int = 0
    memslot_auto_decision_active: int = 0
    dimm_size: int = 0

    @property
    def end(self) -> int:
        return self.base + self.size


def region_of(md: MemoryDeviceClass) -> MemoryRegion | None:
    return md.get_memory_region()


def is_empty(md: MemoryDeviceClass) -> bool:
    """``memory_device_is_empty``: no region and no error."""
    try:
        return md.get_memory_region() is None
    except CoreError:
        return False


def region_size(md: MemoryDeviceClass) -> int:
    mr = md.get_memory_region()
    return mr.size if mr is not None else 0


class PlacedRanges:
    """The realized memory devices' ranges, kept sorted between plugs.

    The allocator and 7.2's space and memslot checks look at every realized
    memory device; walking them (and asking each for its region) made a
    plug cost grow with the number of DIMMs.  The machine reports each
    memory device realized or removed (``Machine._realize`` and
    ``Machine.remove_device``, where the walked device list changes), and
    this keeps what those checks need:

    * ``starts``/``ends``/``owners``: the ranges the allocator compares
      against, sorted by address (an address hint's conflict);
    * ``run_starts``/``run_ends``: the same ranges with touching ones merged
      (first fit jumps over a run of adjacent DIMMs at once);
    * the sum of region sizes and the count of non-empty devices (7.2).

    A realized device's address and region do not change (static
    properties; a backend is fixed once complete and cannot be deleted
    while mapped).  The answers equal the walk's when the ranges are
    disjoint and non-empty; anything else (a region that cannot be read,
    an overlap, a zero size) clears ``exact`` for good and the core walks
    again, so the fast path never guesses.  A snapshot deep-copies this
    with the devices it refers to.
    """

    def __init__(self, skip_empty: bool) -> None:
        # 8.2+ leaves empty devices out of the allocator (memory_device_is_empty).
        self.skip_empty = skip_empty
        self.exact = True
        # Device -> (addr, region size, empty), in the order they were realized.
        self.tracked: dict[Any, tuple[int, int, bool]] = {}
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.owners: list[Any] = []
        self.run_starts: list[int] = []
        self.run_ends: list[int] = []
        self.region_total = 0
        self.nonempty = 0

    def add(self, md: MemoryDeviceClass) -> None:
        """``md`` is realized and in the machine's device list from now on."""
        if not self.exact:
            return
        try:
            mr = md.get_memory_region()
        except CoreError:
            self._give_up()
            return
        addr = md.get_addr()
        size = mr.size if mr is not None else 0
        empty = mr is None
        placed = not (self.skip_empty and empty)
        if md in self.tracked or (placed and not self._free(addr, addr + size)):
            self._give_up()
            return
        self.tracked[md] = (addr, size, empty)
        self.region_total += size
        if not empty:
            self.nonempty += 1
        if placed:
            i = bisect_left(self.starts, addr)
            self.starts.insert(i, addr)
            self.ends.insert(i, addr + size)
            self.owners.insert(i, md)
            self._add_run(addr, addr + size)

    def remove(self, md: MemoryDeviceClass) -> None:
        """``md`` left the machine's device list."""
        entry = self.tracked.pop(md, None)
        if entry is None:
            return
        addr, size, empty = entry
        self.region_total -= size
        if not empty:
            self.nonempty -= 1
        if not (self.skip_empty and empty):
            i = bisect_left(self.starts, addr)
            del self.starts[i], self.ends[i], self.owners[i]
            self._remove_run(addr, addr + size)

    def _free(self, start: int, end: int) -> bool:
        """Whether [start, end) is non-empty and overlaps no placed range."""
        if end <= start:
            return False
        i = bisect_left(self.starts, start)
        if i > 0 and self.ends[i - 1] > start:
            return False
        return i == len(self.starts) or self.starts[i] >= end

    def _add_run(self, start: int, end: int) -> None:
        j = bisect_left(self.run_starts, start)
        left = j > 0 and self.run_ends[j - 1] == start
        right = j < len(self.run_starts) and self.run_starts[j] == end
        if left and right:
            self.run_ends[j - 1] = self.run_ends[j]
            del self.run_starts[j], self.run_ends[j]
        elif left:
            self.run_ends[j - 1] = end
        elif right:
            self.run_starts[j] = start
        else:
            self.run_starts.insert(j, start)
            self.run_ends.insert(j, end)

    def _remove_run(self, start: int, end: int) -> None:
        k = bisect_right(self.run_starts, start) - 1
        run_start, run_end = self.run_starts[k], self.run_ends[k]
        del self.run_starts[k], self.run_ends[k]
        if end < run_end:
            self.run_starts.insert(k, end)
            self.run_ends.insert(k, run_end)
        if run_start < start:
            self.run_starts.insert(k, run_start)
            self.run_ends.insert(k, start)

    def _give_up(self) -> None:
        self.exact = False
        self.tracked.clear()
        self.starts, self.ends, self.owners = [], [], []
        self.run_starts, self.run_ends = [], []

    # -- what the allocator asks ---------------------------------------------------

    def conflict(self, addr: int, size: int) -> Any | None:
        """The first placed device (by address) overlapping [addr, addr + size)."""
        i = bisect_right(self.ends, addr)
        if i < len(self.starts) and self.starts[i] < addr + size:
            return self.owners[i]
        return None

    def first_fit(self, new: int, size: int, align: int) -> int | None:
        """The walk's first fit from ``new`` (None: no aligned address fits).

        Jumping over a run of touching ranges lands where jumping over its
        ranges one by one does: each jump goes to the aligned end of the
        range it overlaps, and the next range of the run starts at or below
        that, so the last jump is to the run's aligned end.
        """
        starts, ends = self.run_starts, self.run_ends
        i = bisect_right(ends, new)
        while i < len(starts) and starts[i] < new + size:
            next_addr = -(-ends[i] // align) * align
            if next_addr > UINT64_MAX or next_addr == 0 or next_addr + size - 1 > UINT64_MAX:
                return None
            new = next_addr
            # Runs the aligned jump passed entirely are skipped, as the walk does.
            i = bisect_right(ends, new, i + 1)
        return new


class MemoryDeviceCore:
    """The machine-wide state and algorithms of memory-device.c.

    ``devices`` is supplied by the machine: every memory device in QOM
    walk order (realized or not); only realized ones count, as in QEMU.
    """

    def __init__(
        self,
        release: Release,
        ram_size: int,
        maxram_size: int,
        device_memory: DeviceMemoryState | None,
        limits: MemslotLimits,
        devices: Any,
    ) -> None:
        self.release = release
        self.ram_size = ram_size
        self.maxram_size = maxram_size
        self.device_memory = device_memory
        self.limits = limits
        self._devices = devices
        # What the per-plug checks read instead of walking every device.
        self.placed = PlacedRanges(skip_empty=release.memslot_accounting)

    # -- enumeration ------------------------------------------------------------

    def device_realized(self, md: MemoryDeviceClass) -> None:
        """The machine added a realized memory device to its device list."""
        self.placed.add(md)

    def device_removed(self, md: MemoryDeviceClass) -> None:
        """The machine took a memory device out of its device list."""
        self.placed.remove(md)

    def realized_devices(self) -> list[MemoryDeviceClass]:
        return [md for md in self._devices() if md.is_realized()]

    def sorted_devices(self) -> list[MemoryDeviceClass]:
        """``memory_device_build_list``: realized devices by address.

        ``g_slist_insert_sorted`` puts a device before existing ones with an
        equal address, so ties end up in reverse walk order.
        """
        devs = self.realized_devices()
        devs.reverse()
        devs.sort(key=lambda md: md.get_addr())
        return devs

    def device_list(self) -> list[dict[str, Any]]:
        """``qmp_memory_device_list``."""
        return [md.fill_device_info() for md in self.sorted_devices()]

    def plugged_memory_size(self) -> int:
        """``get_plugged_memory_size``."""
        total = 0
        skip_empty = self.release.memslot_accounting
        for md in self.realized_devices():
            if skip_empty and is_empty(md):
                continue
            total += md.get_plugged_size()
        return total

    def used_region_size(self) -> int:
        if self.release.memslot_accounting:
            return self.device_memory.used_region_size if self.device_memory else 0
        # 7.2 recomputes it by walking the realized devices: the same sum.
        if self.placed.exact:
            return self.placed.region_total
        return sum(region_size(md) for md in self.realized_devices())

    # -- memslots (8.2) -----------------------------------------------------------

    def reserved_memslots(self) -> int:
        dm = self.device_memory
        if dm is None or dm.used_memslots > dm.required_memslots:
            return 0
        return dm.required_memslots - dm.used_memslots

    def used_memslots(self) -> int:
        return self.device_memory.used_memslots if self.device_memory else 0

    def memslot_decision_limit(self, mr: MemoryRegion) -> int:
        """``memory_device_memslot_decision_limit``."""
        dm = self.device_memory
        assert dm is not None
        reserved = self.reserved_memslots()
        size = mr.size
        used = dm.used_memslots
        max_slots = self.limits.vhost_max()
        free = self.limits.vhost_free(used)
        if self.limits.kvm_enabled:
            max_slots = min(max_slots, self.limits.kvm_max())
            free = min(free, self.limits.kvm_free(used))
        if max_slots < MEMORY_DEVICES_SAFE_MAX_MEMSLOTS:
            return 1
        if dm.required_memslots >= MEMORY_DEVICES_SOFT_MEMSLOT_LIMIT:
            return 1
        memslots = MEMORY_DEVICES_SOFT_MEMSLOT_LIMIT - dm.required_memslots
        # C computes "free - reserved" in unsigned arithmetic.
        memslots = min(memslots, (free - reserved) & 0xFFFFFFFF)
        if memslots < 1 or free < reserved:
            return 1
        if size == self.maxram_size - self.ram_size:
            return memslots
        available = self.maxram_size - self.ram_size - dm.used_region_size
        memslots = int(float(memslots) * size / available) if available else 0
        return max(1, memslots)

    # -- checks -----------------------------------------------------------------

    def _check_addable_7_2(self, size: int) -> None:
        """7.2 ``memory_device_check_addable(ms, size)``."""
        limits = self.limits
        used = self.used_memslots_7_2()
        if limits.kvm_enabled and limits.kvm_free(used) <= 0:
            raise CoreError(self.release.kvm_no_memslots_text)
        if limits.vhost_free(used) <= 0:
            raise CoreError(self.release.vhost_no_memslots_text)
        self._check_space(self.used_region_size(), size)

    def used_memslots_7_2(self) -> int:
        # 7.2 has no accounting: every realized memory device maps one region.
        if self.placed.exact:
            return self.placed.nonempty
        return sum(1 for md in self.realized_devices() if not is_empty(md))

    def _check_space(self, used: int, size: int) -> None:
        total = self.maxram_size - self.ram_size
        if used + size > UINT64_MAX or used + size > total:
            raise CoreError(M.NOT_ENOUGH_SPACE.format(used, total))

    def _check_addable_8_2(self, md: MemoryDeviceClass, mr: MemoryRegion) -> None:
        """8.2+ ``memory_device_check_addable(ms, md, mr)``."""
        dm = self.device_memory
        assert dm is not None
        if md.has_decide_memslots:
            md.decide_memslots(self.memslot_decision_limit(mr))
        required = md.get_memslots()
        reserved = self.reserved_memslots()
        limits = self.limits
        if limits.kvm_enabled and limits.kvm_free(dm.used_memslots) < required + reserved:
            raise CoreError(self.release.kvm_no_memslots_text)
        if limits.vhost_free(dm.used_memslots) < required + reserved:
            raise CoreError(self.release.vhost_no_memslots_text)
        self._check_space(dm.used_region_size, mr.size)

    # -- pre_plug -----------------------------------------------------------------

    def pre_plug(self, md: MemoryDeviceClass, legacy_align: int | None = None) -> int:
        """``memory_device_pre_plug``: all checks, then the address.

        Returns the address to assign; the caller sets it only once every
        later check has passed, so a failure changes nothing.
        """
        if not self.release.check_addable_in_pre_plug:
            return self._pre_plug_7_2(md, legacy_align)
        return self._pre_plug_8_2(md)

    def _pre_plug_7_2(self, md: MemoryDeviceClass, legacy_align: int | None = None) -> int:
        mr = md.get_memory_region()
        assert mr is not None
        # pc_dimm_pre_plug passes a legacy alignment for old pc types only.
        align = legacy_align or max(md.get_min_alignment(), mr.align)
        addr = md.get_addr()
        return self._get_free_addr(None if addr == 0 else addr, align, mr.size, md, mr)

    def _pre_plug_8_2(self, md: MemoryDeviceClass) -> int:
        if is_empty(md):
            return md.get_addr()
        if self.device_memory is None:
            raise CoreError(M.DEVICE_MEMORY_NOT_PREPARED)
        mr = md.get_memory_region()
        assert mr is not None
        self._check_addable_8_2(md, mr)
        if self.release.size_alignment_check == "pre_plug" and mr.size % mr.align:
            raise CoreError(M.BACKEND_SIZE_NOT_ALIGNED.format(mr.align))
        align = max(md.get_min_alignment(), mr.align)
        addr = md.get_addr()
        return self._get_free_addr(None if addr == 0 else addr, align, mr.size, md, mr)

    # -- the allocator ----------------------------------------------------------

    def _get_free_addr(
        self,
        hint: int | None,
        align: int,
        size: int,
        md: MemoryDeviceClass,
        mr: MemoryRegion,
    ) -> int:
        """``memory_device_get_free_addr``: first fit at the lowest address."""
        dm = self.device_memory
        legacy = not self.release.check_addable_in_pre_plug
        if legacy:
            if dm is None:
                raise CoreError(M.DEVICE_MEMORY_NOT_SUPPORTED)
            if not dm.size:
                raise CoreError(M.DEVICE_MEMORY_NOT_ENABLED)
        assert dm is not None
        as_lo, as_size = dm.base, dm.size
        if legacy:
            self._check_addable_7_2(size)
        if hint is not None and hint % align:
            raise CoreError(M.ADDRESS_NOT_ALIGNED.format(align))
        if legacy and size % align:
            raise CoreError(M.BACKEND_SIZE_NOT_ALIGNED.format(align))
        if hint is not None:
            if (
                size == 0
                or hint + size - 1 > UINT64_MAX
                or not (as_lo <= hint and hint + size <= as_lo + as_size)
            ):
                raise CoreError(M.CANT_ADD_MEMORY_DEVICE.format(hint, size, as_lo, as_size))
            new: int | None = hint
        else:
            start = -(-as_lo // align) * align
            if size == 0 or start + size - 1 > UINT64_MAX:
                raise CoreError(M.DEVICE_TOO_BIG)
            new = start
        placed = self.placed
        if placed.exact and md not in placed.tracked:
            if hint is not None:
                other = placed.conflict(hint, size)
                if other is not None:
                    other_id = other.device_id()
                    raise CoreError(
                        M.ADDRESS_CONFLICT.format("(unnamed)" if other_id is None else other_id)
                    )
            else:
                new = placed.first_fit(start, size, align)
        else:
            new = self._walk_free_addr(hint, new, size, md, align)
        if new is None or not (as_lo <= new and new + size <= as_lo + as_size):
            raise CoreError(M.FRAGMENTED)
        return new

    def _walk_free_addr(
        self, hint: int | None, new: int | None, size: int, md: MemoryDeviceClass, align: int
    ) -> int | None:
        """The allocator's loop over every realized device, sorted by address.

        What :class:`PlacedRanges` answers from its sorted ranges; used
        when those are not exact, and by tests as the reference.
        """
        skip_empty = self.release.memslot_accounting
        for other in self.sorted_devices():
            if other is md:
                continue
            if skip_empty and is_empty(other):
                continue
            o_addr = other.get_addr()
            o_size = region_size(other)
            assert new is not None
            if o_addr < new + size and new < o_addr + o_size:
                if hint is not None:
                    # d->id ? d->id : "(unnamed)": an empty id (10.0) prints as ''.
                    other_id = other.device_id()
                    raise CoreError(
                        M.ADDRESS_CONFLICT.format("(unnamed)" if other_id is None else other_id)
                    )
                next_addr = -(-(o_addr + o_size) // align) * align
                if next_addr > UINT64_MAX or next_addr == 0 or next_addr + size - 1 > UINT64_MAX:
                    new = None
                    break
                new = next_addr
            elif o_addr > new + size - 1:
                break
        return new

    # -- plug / unplug -------------------------------------------------------------

    def plug(self, md: MemoryDeviceClass) -> None:
        """``memory_device_plug``: account the region (the device maps it)."""
        if self.release.memslot_accounting and is_empty(md):
            return
        mr = md.get_memory_region()
        assert mr is not None and self.device_memory is not None
        dm = self.device_memory
        memslots = md.get_memslots()
        dm.used_region_size += mr.size
        dm.required_memslots += memslots
        if md.has_decide_memslots and memslots > 1:
            dm.memslot_auto_decision_active += 1

    def unplug(self, md: MemoryDeviceClass) -> None:
        """``memory_device_unplug``."""
        if self.release.memslot_accounting and is_empty(md):
            return
        mr = md.get_memory_region()
        assert mr is not None and self.device_memory is not None
        dm = self.device_memory
        memslots = md.get_memslots()
        if md.has_decide_memslots and memslots > 1:
            dm.memslot_auto_decision_active -= 1
        dm.used_region_size -= mr.size
        dm.required_memslots -= memslots

    def region_mapped(self, count: int = 1) -> None:
        """The MemoryListener saw RAM sections appear in device memory."""
        if self.device_memory is not None:
            self.device_memory.used_memslots += count

    def region_unmapped(self, count: int = 1) -> None:
        if self.device_memory is not None:
            self.device_memory.used_memslots -= count
