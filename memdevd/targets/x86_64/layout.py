"""The pc and q35 memory layout: RAM split and the device-memory region.

``pc_piix.c``/``pc_q35.c`` split RAM below and above 4 GiB; ``pc.c``
(``pc_memory_init``, ``pc_get_device_memory_range``, ``pc_max_used_gpa``)
places the device-memory region above the high RAM, rounded up to 1 GiB,
sized ``maxmem - ram + 1 GiB per slot``, and refuses configurations the
emulated CPU cannot address.  With ``cxl=on`` the CXL host register
region (1 MiB) and the fixed memory windows (256 MiB aligned) follow the
device memory (``pc_get_cxl_range_start``/``_end``) and the 64-bit PCI
hole starts after them, so they count in the phys-bits check.  All of it
is computed once at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.host import GiB, MiB
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.cxl import CXLState
    from memdevd.targets.x86_64.board import X86Board

ACPI_MAX_RAM_SLOTS = 256
TARGET_PAGE_SIZE = 4096
AMD_HT_START = 0xFD00000000
AMD_HT_END = 0xFFFFFFFFFF
AMD_ABOVE_1TB_START = AMD_HT_END + 1
FOUR_GIB = 4 * GiB


@record
class MemoryLayout:
    below_4g: int
    above_4g: int
    above_4g_start: int
    # Device memory: None when the machine has none (8.2+ without maxmem).
    device_memory_base: int
    device_memory_size: int
    has_device_memory: bool
    # cxl=on: the end of the CXL reservation (register region and windows).
    cxl_end: int = 0


def ram_split(board: X86Board, ram_size: int, max_ram_below_4g: int = 0) -> tuple[int, int]:
    """(below 4 GiB, above 4 GiB) as pc_init1 / pc_q35_init compute them."""
    if board.family == "pc":
        limit = max_ram_below_4g or 0xE0000000
        lowmem = limit
        if ram_size >= limit and lowmem > 0xC0000000:
            # gigabyte_align: new machine types move the split to 3 GiB.
            lowmem = 0xC0000000
    else:
        lowmem = 0x80000000 if ram_size >= 0xB0000000 else 0xB0000000
        limit = max_ram_below_4g or FOUR_GIB
        lowmem = min(lowmem, limit)
    if ram_size >= lowmem:
        return lowmem, ram_size - lowmem
    return ram_size, 0


def _round_up(value: int, align: int) -> int:
    return -(-value // align) * align


def sgx_epc_base(above_4g: int) -> int:
    """``pc_machine_init_sgx_epc``: ``above_4g_mem_start + above_4g_mem_size``.

    ``above_4g_mem_start`` is still 4 GiB then (x86_machine_initfn); the
    AMD 1 TiB relocation happens later, in pc_memory_init.
    """
    return FOUR_GIB + above_4g


@record(frozen=True)
class CpuFacts:
    """What ``pc_memory_init`` reads of the first vCPU (the defaults: qemu64
    under TCG)."""

    phys_bits: int = 40
    is_amd: bool = True
    long_mode: bool = True
    # Release.max_used_gpa_by_long_mode
    max_used_gpa_by_long_mode: bool = True


def compute_layout(
    board: X86Board,
    ram_size: int,
    maxram_size: int,
    ram_slots: int,
    *,
    max_ram_below_4g: int = 0,
    cpu: CpuFacts | None = None,
    enforce_amd_1tb_hole: bool = True,
    broken_32bit_mem_addr_check: bool = False,
    broken_reserved_end: bool = False,
    sgx_epc_size: int = 0,
    device_memory_only_with_maxmem: bool = True,
    has_reserved_memory: bool = True,
    enforce_aligned_dimm: bool = True,
    machine_type: str = "",
    pci_hole64_size: int | None = None,
    cxl: CXLState | None = None,
) -> MemoryLayout:
    """``pc_memory_init``'s layout and start-up checks (they exit QEMU).

    ``has_reserved_memory``/``enforce_aligned_dimm`` are false for QEMU
    7.2's oldest pc types (pc-i440fx-2.0 and older / 2.1 and older).
    ``pci_hole64_size`` is the host bridge's ``pci-hole64-size`` (``-global``;
    None: the bridge's default).
    """
    hole64_size = board.pci_hole64_default if pci_hole64_size is None else pci_hole64_size
    below, above = ram_split(board, ram_size, max_ram_below_4g)
    above_start = FOUR_GIB
    has_devmem = has_reserved_memory and ram_size < maxram_size
    slot_slack = GiB * ram_slots if enforce_aligned_dimm else 0

    def above_end(start: int) -> int:
        if sgx_epc_size:
            # pc_above_4g_end() -> sgx_epc_above_4g_end(): the EPC sections
            # follow the high RAM without any rounding.  Their base was fixed
            # by pc_machine_init_sgx_epc() at 4 GiB + above_4g_mem_size,
            # before pc_memory_init() may move the high RAM above 1 TiB, so
            # the relocated start does not move them.
            return sgx_epc_base(above) + sgx_epc_size
        return start + above

    def devmem_range(start: int) -> tuple[int, int]:
        base = _round_up(above_end(start), GiB)
        return base, maxram_size - ram_size + slot_slack

    def cxl_range_start(start: int) -> int:
        # pc_get_cxl_range_start: after the device-memory range (7.2: even
        # an empty one, whenever the type has reserved memory).
        if has_devmem or (has_reserved_memory and not device_memory_only_with_maxmem):
            base, size = devmem_range(start)
            return base + size
        return above_end(start)

    facts = cpu if cpu is not None else CpuFacts()
    phys_bits = facts.phys_bits

    def max_used_gpa(start: int) -> int:
        if facts.max_used_gpa_by_long_mode:
            if not facts.long_mode:
                # 32-bit systems: no 64-bit PCI hole.
                if broken_32bit_mem_addr_check:
                    return (1 << phys_bits) - 1
                if has_devmem:
                    base, size = devmem_range(start)
                    return base + size - 1
                return above_end(start) - 1
        elif phys_bits <= 32:
            # 7.2: "32-bit systems don't have hole64 thus return max CPU address"
            return (1 << phys_bits) - 1
        # pc_pci_hole64_start() + pci_hole64_size - 1 (64-bit CPUs).
        if cxl is not None and cxl.is_enabled:
            from memdevd.machine.cxl import cxl_range_end  # (a CXL machine only)

            hole64_start = cxl_range_end(cxl_range_start(start), cxl.fixed_windows)
        elif has_devmem:
            base, size = devmem_range(start)
            # pcmc->broken_reserved_end (types up to 2.4): the hole after
            # the start of device memory, not its end.
            hole64_start = base if broken_reserved_end else base + size
        else:
            hole64_start = above_end(start)
        return _round_up(hole64_start, GiB) + hole64_size - 1

    # Only for AMD vCPUs (IS_AMD_CPU), from 7.1 machine types on.
    if facts.is_amd and enforce_amd_1tb_hole and max_used_gpa(above_start) >= AMD_HT_START:
        above_start = AMD_ABOVE_1TB_START

    max_used = max_used_gpa(above_start)
    # (1ULL << phys_bits) - 1 in C: x86 takes the shift count modulo 64.
    max_phys = ((1 << (phys_bits & 63)) - 1) & ((1 << 64) - 1)
    if max_phys < max_used:
        raise CoreError(M.PHYS_BITS_TOO_LOW.format(max_phys, max_used, phys_bits))

    if not has_reserved_memory and (ram_slots or maxram_size > ram_size):
        raise CoreError(M.SLOTS_MAXMEM_NOT_SUPPORTED.format(machine_type))
    base, size = 0, 0
    if has_devmem:
        if ram_slots > ACPI_MAX_RAM_SLOTS:
            raise CoreError(M.UNSUPPORTED_RAM_SLOTS.format(ram_slots))
        if _round_up(maxram_size, TARGET_PAGE_SIZE) != maxram_size:
            raise CoreError(M.MAXMEM_NOT_ALIGNED.format(TARGET_PAGE_SIZE))
        base, size = devmem_range(above_start)
        if base + size >= 1 << 64:
            raise CoreError(M.UNSUPPORTED_MAXMEM.format(maxram_size))
    elif not device_memory_only_with_maxmem:
        # 7.2 allocates device_memory always; its region is empty.
        base, _ = devmem_range(above_start)
    cxl_end = 0
    if cxl is not None and cxl.is_enabled:
        from memdevd.machine.cxl import place_windows

        cxl_end = place_windows(cxl, cxl_range_start(above_start))
    return MemoryLayout(
        below_4g=below,
        above_4g=above,
        above_4g_start=above_start,
        device_memory_base=base,
        device_memory_size=size,
        has_device_memory=has_devmem or not device_memory_only_with_maxmem,
        cxl_end=cxl_end,
    )


def default_ram_size() -> int:
    return 128 * MiB
