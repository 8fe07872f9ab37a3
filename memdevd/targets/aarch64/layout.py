"""The ``virt`` memory map (hw/arm/virt.c ``virt_set_memmap``).

RAM starts at 1 GiB (``VIRT_MEM``).  The device-memory region follows it,
its base rounded up to 1 GiB and its size ``maxmem - ram + 1 GiB per
slot``; the top of memory is that region's end rounded up to 1 GiB and
must fit in the physical address range (``arm_pamax`` of the vCPU, 32 bits
with ``highmem=off``).  The high IO regions (a second GIC redistributor
region, the high PCIe ECAM, the high PCIe MMIO window) float above
max(top of memory, 256 GiB), each aligned to its own size; one that does
not fit is disabled, and the highest guest address is the end of the last
that fits (``virt_set_high_memmap``).  The compact layout (virt-7.2 and
later in QEMU 8.0+, ``Release``-independent: the 7.2 binary has none)
reserves no address space for a disabled region.
"""

from __future__ import annotations

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.host import GiB, MiB
from memdevd.records import record

#: base_memmap[VIRT_MEM].base
RAM_BASE = GiB
#: LEGACY_RAMLIMIT_GB: the high IO regions are never below 256 GiB.
LEGACY_RAMLIMIT_BYTES = 255 * GiB
ACPI_MAX_RAM_SLOTS = 256
#: DEFAULT_HIGH_PCIE_MMIO_SIZE
DEFAULT_HIGH_PCIE_MMIO_SIZE = 512 * GiB
#: extended_memmap: (name, size) in QEMU's order.
HIGH_REGIONS = ("highmem-redists", "highmem-ecam", "highmem-mmio")
HIGH_REGION_SIZES = {"highmem-redists": 64 * MiB, "highmem-ecam": 256 * MiB}


@record(frozen=True)
class HighRegion:
    name: str  # the -machine property that enables it
    base: int
    size: int
    enabled: bool


@record(frozen=True)
class VirtLayout:
    ram_base: int
    device_memory_base: int
    device_memory_size: int
    #: the base of the high IO regions before alignment (memtop or 256 GiB)
    memtop: int
    highest_gpa: int
    high: tuple[HighRegion, ...]

    def region(self, name: str) -> HighRegion:
        return next(r for r in self.high if r.name == name)


_U64 = (1 << 64) - 1


def _round_up(value: int, align: int) -> int:
    """QEMU's ROUND_UP on a uint64_t (wraps as C does)."""
    return ((value + align - 1) & ~(align - 1)) & _U64


def compute_layout(
    ram_size: int,
    maxram_size: int,
    ram_slots: int,
    pa_bits: int,
    *,
    highmem: bool = True,
    enabled: dict[str, bool] | None = None,
    compact: bool = True,
    high_mmio_size: int = DEFAULT_HIGH_PCIE_MMIO_SIZE,
    addressing_limited_text: str = M.VIRT_ADDRESSING_LIMITED,
) -> VirtLayout:
    """``virt_set_memmap(vms, pa_bits)``: raises CoreError with QEMU's text
    where QEMU exits.  ``enabled``: the highmem-redists/-ecam/-mmio
    properties as set (default all on)."""
    if ram_slots > ACPI_MAX_RAM_SLOTS:
        raise CoreError(M.VIRT_UNSUPPORTED_RAM_SLOTS.format(ram_slots))
    if not highmem:
        pa_bits = 32
    device_memory_base = _round_up(RAM_BASE + ram_size, GiB)
    device_memory_size = (maxram_size - ram_size + ram_slots * GiB) & _U64
    memtop = base = (device_memory_base + _round_up(device_memory_size, GiB)) & _U64
    limit = 1 << pa_bits
    if memtop > limit:
        raise CoreError(addressing_limited_text.format(pa_bits, memtop - limit))
    if base < device_memory_base:
        # (hwaddr arithmetic wrapped)
        raise CoreError(M.VIRT_MAXMEM_SLOTS_TOO_HUGE)
    base = max(base, RAM_BASE + LEGACY_RAMLIMIT_BYTES)
    highest_gpa = memtop - 1
    flags = {name: True for name in HIGH_REGIONS}
    if enabled:
        flags.update(enabled)
    sizes = {**HIGH_REGION_SIZES, "highmem-mmio": high_mmio_size}
    regions = []
    for name in HIGH_REGIONS:
        size = sizes[name]
        region_base = _round_up(base, size)
        fits = region_base + size <= limit
        on = flags[name] and fits
        regions.append(HighRegion(name, region_base, size, on))
        if compact and not on:
            continue
        base = region_base + size
        if fits:
            highest_gpa = base - 1
    return VirtLayout(
        ram_base=RAM_BASE,
        device_memory_base=device_memory_base,
        device_memory_size=device_memory_size,
        memtop=memtop,
        highest_gpa=highest_gpa,
        high=tuple(regions),
    )


def requested_pa_size(layout: VirtLayout) -> int:
    """``64 - clz64(highest_gpa)``: the bits the memory map needs."""
    return layout.highest_gpa.bit_length()
