"""Device-memory layout of pc and q35: base, region size, start-up errors.

Every expected value was read from a live QEMU first (7.2.22 =
/usr/bin/qemu-system-x86_64, 10.0.2 = /opt/qemu-10.0/bin/qemu-system-x86_64,
both started with ``-S -nodefaults -display none -accel tcg -qmp unix:...``
plus the ``-machine``/``-m`` shown).  Both releases gave the same numbers
everywhere here; the command lines and answers are in the comments.
"""

# QEMU's answers stay one per line in the tables below, so they can be grepped.
# ruff: noqa: E501

from __future__ import annotations

import pytest
from conftest import GiB, MiB, backend, device_add_error, dimm, layout, make_machine, size

from memdevd.machine.errors import CoreError
from memdevd.targets.x86_64.board import PC, Q35
from memdevd.targets.x86_64.layout import compute_layout, ram_split

# -m RAM,slots=3,maxmem=RAM+4G ; object-add memory-backend-ram m0 128M;
# device_add pc-dimm memdev=m0 addr=1<<50 -> "can't add memory device
# [0x4000000000000:0x8000000], usable range for memory devices [BASE:0x1c0000000]";
# device_add pc-dimm memdev=m0 -> query-memory-devices addr == BASE.
# Identical on 7.2 and 10.0.
BASES: list[tuple[str, str, int]] = [
    ("pc", "128M", 0x100000000),
    ("pc", "512M", 0x100000000),
    ("pc", "1G", 0x100000000),
    ("pc", "2G", 0x100000000),
    ("pc", "2560M", 0x100000000),
    ("pc", "2816M", 0x100000000),
    ("pc", "3G", 0x100000000),
    ("pc", "3328M", 0x100000000),
    ("pc", "3584M", 0x140000000),  # >= 0xe0000000: lowmem 3G, 512M above 4G
    ("pc", "4G", 0x140000000),
    ("pc", "5G", 0x180000000),
    ("pc", "8G", 0x240000000),
    ("q35", "128M", 0x100000000),
    ("q35", "512M", 0x100000000),
    ("q35", "1G", 0x100000000),
    ("q35", "2G", 0x100000000),
    ("q35", "2560M", 0x100000000),
    ("q35", "2816M", 0x140000000),  # >= 0xb0000000: lowmem 2G
    ("q35", "3G", 0x140000000),
    ("q35", "3328M", 0x180000000),
    ("q35", "3584M", 0x180000000),
    ("q35", "4G", 0x180000000),
    ("q35", "5G", 0x1C0000000),
    ("q35", "8G", 0x280000000),
]


@pytest.mark.parametrize(("machine", "ram", "base"), BASES)
def test_device_memory_base_and_first_dimm(version: str, machine: str, ram: str, base: int) -> None:
    ram_size = size(ram)
    m = make_machine(version, machine, ram, slots=3, maxmem=ram_size + 4 * GiB)
    assert m.device_memory is not None
    assert m.device_memory.base == base
    assert m.device_memory.size == 0x1C0000000  # 4G + 3 slots x 1G
    backend(m, "m0", "128M")
    err = device_add_error(m, driver="pc-dimm", id="dx", memdev="m0", addr=1 << 50)
    assert err.desc == (
        "can't add memory device [0x4000000000000:0x8000000], "
        f"usable range for memory devices [0x{base:x}:0x1c0000000]"
    )
    dimm(m, "d0", "m0")
    assert layout(m) == [("d0", base, 128 * MiB, 0)]


@pytest.mark.parametrize(("machine", "ram", "base"), BASES)
def test_compute_layout_base(machine: str, ram: str, base: int) -> None:
    board = PC if machine == "pc" else Q35
    ram_size = size(ram)
    lay = compute_layout(board, ram_size, ram_size + 4 * GiB, 3)
    assert (lay.device_memory_base, lay.device_memory_size) == (base, 0x1C0000000)
    below, above = ram_split(board, ram_size)
    assert below + above == ram_size


# QEMU 7.2: qom-get /machine device-memory-region-size (10.0 has no such
# property: "Property 'pc-i440fx-10.0-machine.device-memory-region-size' not found").
@pytest.mark.parametrize(
    ("machine", "mem", "region"),
    [
        ("pc", "1G", 0),
        ("pc", "1G,maxmem=2G", 1073741824),
        ("pc", "1G,slots=256,maxmem=2G", 275951648768),
        ("pc", "1G,slots=4,maxmem=8G", 11811160064),
        ("pc", "1G,slots=2,maxmem=4G", 5368709120),
        ("pc", "4G,slots=1,maxmem=5G", 2147483648),
        ("pc", "3584M,slots=2,maxmem=4G", 2684354560),
        ("q35", "1G", 0),
        ("q35", "1G,maxmem=2G", 1073741824),
        ("q35", "1G,slots=4,maxmem=8G", 11811160064),
        ("q35", "1G,slots=2,maxmem=4G", 5368709120),
        ("q35", "4G,slots=1,maxmem=5G", 2147483648),
    ],
)
def test_device_memory_region_size_property(machine: str, mem: str, region: int) -> None:
    opts = dict(kv.split("=") for kv in mem.split(",")[1:])
    ram = mem.split(",")[0]
    maxmem = opts.get("maxmem")
    m = make_machine("7.2", machine, ram, slots=int(opts.get("slots", 0)), maxmem=maxmem)
    assert m.qom_get("/machine", "device-memory-region-size") == region


def test_device_memory_region_size_absent_in_10_0() -> None:
    # 10.0: qom-get /machine device-memory-region-size ->
    # "Property 'pc-i440fx-10.0-machine.device-memory-region-size' not found"
    m = make_machine("10.0", "pc", "1G", slots=4, maxmem="8G")
    with pytest.raises(CoreError) as info:
        m.qom_get("/machine", "device-memory-region-size")
    assert info.value.desc == (
        "Property 'pc-i440fx-10.0-machine.device-memory-region-size' not found"
    )


def test_device_memory_without_maxmem(version: str) -> None:
    # 7.2 always allocates device_memory (region size 0); 8.2+ only with maxmem > ram.
    m = make_machine(version, "pc", "1G", maxmem=None)
    if version == "7.2":
        assert m.device_memory is not None and m.device_memory.size == 0
    else:
        assert m.device_memory is None


@pytest.mark.parametrize(
    ("machine", "ram", "expected"),
    [("pc", "1G", 3758096384), ("pc", "4G", 3758096384), ("q35", "1G", 4294967296)],
)
def test_max_ram_below_4g_property(version: str, machine: str, ram: str, expected: int) -> None:
    # -machine pc -m 1G,slots=2,maxmem=4G: qom-get /machine max-ram-below-4g -> 3758096384
    # (also with -m 4G, 3584M, 8G ...); -machine q35: 4294967296. Both releases.
    m = make_machine(version, machine, ram, slots=2, maxmem=size(ram) + 4 * GiB)
    assert m.qom_get("/machine", "max-ram-below-4g") == expected


@pytest.mark.parametrize(("machine", "value"), [("pc", 2 * GiB), ("q35", 1 * GiB)])
def test_max_ram_below_4g_explicit(version: str, machine: str, value: int) -> None:
    # -machine pc,max-ram-below-4g=2G -m 3G,slots=2,maxmem=4G: qom-get -> 2147483648;
    # -machine q35,max-ram-below-4g=1G: 1073741824 (7.2 and 10.0)
    m = make_machine(version, machine, "3G", slots=2, maxmem="4G", max_ram_below_4g=value)
    assert m.qom_get("/machine", "max-ram-below-4g") == value
    assert m.device_memory is not None
    assert m.device_memory.base == (0x140000000 if machine == "pc" else 0x180000000)


@pytest.mark.parametrize(
    ("machine", "max_below", "base"),
    [
        # -machine pc,max-ram-below-4g=2G -m 3G,slots=2,maxmem=4G: usable range
        # for memory devices [0x140000000:0xc0000000]
        ("pc", 2 * GiB, 0x140000000),
        # -machine q35,max-ram-below-4g=1G -m 3G,slots=2,maxmem=4G: [0x180000000:0xc0000000]
        ("q35", 1 * GiB, 0x180000000),
    ],
)
def test_max_ram_below_4g_moves_base(machine: str, max_below: int, base: int) -> None:
    board = PC if machine == "pc" else Q35
    lay = compute_layout(board, 3 * GiB, 4 * GiB, 2, max_ram_below_4g=max_below)
    assert (lay.device_memory_base, lay.device_memory_size) == (base, 0xC0000000)


# --- start-up errors (QEMU prints "qemu-system-x86_64: <text>" and exits 1) ---------

STARTUP_ERRORS: list[tuple[str, str, str]] = [
    # -m 1G,slots=257,maxmem=8G / slots=300
    ("pc", "1G,slots=257,maxmem=8G", "unsupported amount of memory slots: 257"),
    ("pc", "1G,slots=300,maxmem=8G", "unsupported amount of memory slots: 300"),
    ("q35", "1G,slots=300,maxmem=8G", "unsupported amount of memory slots: 300"),
    # maxmem=8589935000 (not a multiple of 4096)
    (
        "pc",
        "1G,slots=4,maxmem=8589935000",
        "maximum memory size must by aligned to multiple of 4096 bytes",
    ),
    # slots and alignment both wrong: the slot count is checked first
    ("pc", "1G,slots=257,maxmem=8589935000", "unsupported amount of memory slots: 257"),
    # phys-bits 40 (qemu64) is too low; AMD CPU: above-4G RAM relocated to 1 TiB
    ("pc", "1G,slots=4,maxmem=1T", "Address space limit 0xffffffffff < 0x2013fffffff phys-bits too low (40)"),
    ("q35", "1G,slots=4,maxmem=1T", "Address space limit 0xffffffffff < 0x208bfffffff phys-bits too low (40)"),
    ("pc", "1G,slots=4,maxmem=1004G", "Address space limit 0xffffffffff < 0x1fc3fffffff phys-bits too low (40)"),
    ("pc", "1G,slots=4,maxmem=1008G", "Address space limit 0xffffffffff < 0x1fd3fffffff phys-bits too low (40)"),
    ("pc", "1G,slots=4,maxmem=1013G", "Address space limit 0xffffffffff < 0x1fe7fffffff phys-bits too low (40)"),
    ("pc", "1G,slots=4,maxmem=1016G", "Address space limit 0xffffffffff < 0x1ff3fffffff phys-bits too low (40)"),
    ("q35", "1G,slots=4,maxmem=980G", "Address space limit 0xffffffffff < 0x1fdbfffffff phys-bits too low (40)"),
    ("q35", "1G,slots=4,maxmem=990G", "Address space limit 0xffffffffff < 0x2003fffffff phys-bits too low (40)"),
    ("pc", "1G,slots=0,maxmem=1T", "Address space limit 0xffffffffff < 0x2003fffffff phys-bits too low (40)"),
    # phys-bits is checked before the slot count
    ("pc", "1G,slots=257,maxmem=1T", "Address space limit 0xffffffffff < 0x2407fffffff phys-bits too low (40)"),
]  # fmt: skip


def _parse_mem(mem: str) -> tuple[str, int, str | None]:
    ram, *rest = mem.split(",")
    opts = dict(kv.split("=") for kv in rest)
    return ram, int(opts.get("slots", 0)), opts.get("maxmem")


@pytest.mark.parametrize(("machine", "mem", "text"), STARTUP_ERRORS)
def test_startup_errors(version: str, machine: str, mem: str, text: str) -> None:
    ram, slots, maxmem = _parse_mem(mem)
    with pytest.raises(CoreError) as info:
        make_machine(version, machine, ram, slots=slots, maxmem=maxmem)
    assert info.value.desc == text


@pytest.mark.parametrize(
    ("machine", "mem"),
    [
        # all start (the largest maxmem below the AMD HyperTransport hole / 1 TiB)
        ("pc", "1G,slots=256,maxmem=8G"),
        ("pc", "1G,slots=256,maxmem=2G"),
        ("q35", "1G,slots=256,maxmem=2G"),
        ("pc", "1G,slots=4,maxmem=1000G"),
        ("pc", "1G,slots=4,maxmem=1003G"),
        ("q35", "1G,slots=4,maxmem=960G"),
        ("q35", "1G,slots=4,maxmem=971G"),
        ("q35", "1G,slots=4,maxmem=972G"),
    ],
)
def test_startup_accepted(version: str, machine: str, mem: str) -> None:
    ram, slots, maxmem = _parse_mem(mem)
    m = make_machine(version, machine, ram, slots=slots, maxmem=maxmem)
    assert m.device_memory is not None
    assert m.device_memory.base == 0x100000000
    assert m.device_memory.size == size(maxmem or ram) - size(ram) + slots * GiB


def test_large_region_top_address(version: str) -> None:
    # -m 1G,slots=4,maxmem=1003G: a DIMM placed at the very top of the region fits,
    # region = 1002G + 4G from 0x100000000.
    m = make_machine(version, "pc", "1G", slots=4, maxmem="1003G")
    assert m.device_memory is not None
    top = m.device_memory.base + m.device_memory.size
    backend(m, "m0", "1G")
    dimm(m, "d0", "m0", addr=top - GiB)
    assert layout(m) == [("d0", top - GiB, GiB, 0)]
