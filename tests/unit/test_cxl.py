"""CXL: the windows' checks and where pc_memory_init places the CXL regions.

The placement table was read from live QEMU 7.2.22 and 10.0.2 (``info
mtree``'s ``cxl_host_reg`` and ``cxl-fixed-memory-region`` lines, started
with ``-S -nodefaults -display none`` and the ``-machine``/``-m`` shown,
``-device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1`` where a window names
it); tests/conformance/test_cxl_live.py compares the same with QEMU live.
"""

# QEMU's answers stay one per line in the tables below, so they can be grepped.

from __future__ import annotations

import pytest
from conftest import GiB, MiB, backend, device_add, device_add_error, make_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from memdevd import messages as M
from memdevd.machine.cxl import (
    CXL_FMW_ALIGN,
    CXL_HOST_REG_SIZE,
    CXLFixedWindow,
    CXLState,
    check_window,
    cxl_range_end,
    parse_cfmw_option,
    set_cfmw,
)
from memdevd.machine.errors import CoreError
from memdevd.releases.table import RELEASES
from memdevd.targets.x86_64.board import PC, Q35
from memdevd.targets.x86_64.layout import CpuFacts, compute_layout

R72, R100 = RELEASES["7.2"], RELEASES["10.0"]


def _layout(
    version: str,
    family: str,
    ram: int,
    maxmem: int,
    slots: int,
    windows: list[int],
    *,
    has_reserved_memory: bool = True,
) -> tuple[CXLState, int]:
    state = CXLState(True, [CXLFixedWindow(w, ["cxl.1"]) for w in windows])
    result = compute_layout(
        PC if family == "pc" else Q35,
        ram,
        maxmem,
        slots,
        device_memory_only_with_maxmem=RELEASES[version].device_memory_only_with_maxmem,
        has_reserved_memory=has_reserved_memory,
        cxl=state,
    )
    return state, result.cxl_end


# (version, family, -m RAM, maxmem, slots, window sizes) -> cxl_host_reg base, window bases
PLACEMENT: list[tuple[str, str, int, int, int, list[int], int, list[int]]] = [
    ("7.2", "q35", 128 * MiB, 128 * MiB, 0, [], 0x100000000, []),
    ("10.0", "q35", 128 * MiB, 128 * MiB, 0, [], 0x100000000, []),
    ("7.2", "q35", 128 * MiB, 128 * MiB, 0, [4 * GiB], 0x100000000, [0x110000000]),
    ("10.0", "q35", 128 * MiB, 128 * MiB, 0, [4 * GiB], 0x100000000, [0x110000000]),
    # 1.5G above 4G: 7.2 starts after the empty device-memory range (rounded to 1G)
    ("7.2", "q35", 3584 * MiB, 3584 * MiB, 0, [4 * GiB], 0x180000000, [0x190000000]),
    ("10.0", "q35", 3584 * MiB, 3584 * MiB, 0, [4 * GiB], 0x160000000, [0x170000000]),
    ("7.2", "q35", 3584 * MiB, 8 * GiB, 2, [4 * GiB], 0x320000000, [0x330000000]),
    ("10.0", "q35", 3584 * MiB, 8 * GiB, 2, [4 * GiB], 0x320000000, [0x330000000]),
    ("7.2", "q35", 1 * GiB, 3 * GiB, 1, [4 * GiB], 0x1C0000000, [0x1D0000000]),
    ("10.0", "q35", 1 * GiB, 3 * GiB, 1, [4 * GiB], 0x1C0000000, [0x1D0000000]),
    (
        "7.2",
        "q35",
        2 * GiB,
        2 * GiB,
        0,
        [4 * GiB, 768 * MiB],
        0x100000000,
        [0x110000000, 0x210000000],
    ),
    (
        "10.0",
        "q35",
        2 * GiB,
        2 * GiB,
        0,
        [4 * GiB, 768 * MiB],
        0x100000000,
        [0x110000000, 0x210000000],
    ),
    ("7.2", "q35", 5 * GiB, 5 * GiB, 0, [], 0x1C0000000, []),
    ("10.0", "q35", 5 * GiB, 5 * GiB, 0, [], 0x1C0000000, []),
    ("7.2", "pc", 3584 * MiB, 3584 * MiB, 0, [], 0x140000000, []),
    ("10.0", "pc", 3584 * MiB, 3584 * MiB, 0, [], 0x120000000, []),
]


@pytest.mark.parametrize(
    ("version", "family", "ram", "maxmem", "slots", "windows", "host_reg", "bases"), PLACEMENT
)
def test_placement_as_qemu(
    version: str,
    family: str,
    ram: int,
    maxmem: int,
    slots: int,
    windows: list[int],
    host_reg: int,
    bases: list[int],
) -> None:
    state, end = _layout(version, family, ram, maxmem, slots, windows)
    assert state.host_reg_base == host_reg
    assert [w.base for w in state.fixed_windows] == bases
    assert end == (bases[-1] + windows[-1] if windows else host_reg + CXL_HOST_REG_SIZE)


def test_placement_without_reserved_memory_7_2() -> None:
    # -machine pc-i440fx-2.0,cxl=on -m 3584M (7.2): no device-memory range
    # at all, so the region follows the high RAM: 0x120000000.
    state, _ = _layout("7.2", "pc", 3584 * MiB, 3584 * MiB, 0, [], has_reserved_memory=False)
    assert state.host_reg_base == 0x120000000


def test_disabled_cxl_places_nothing() -> None:
    state = CXLState(False, [CXLFixedWindow(4 * GiB, ["cxl.1"])])
    result = compute_layout(Q35, GiB, GiB, 0, cxl=state)
    assert state.host_reg_base is None and result.cxl_end == 0


@settings(max_examples=200, deadline=None)
@given(
    version=st.sampled_from(["7.2", "10.0"]),
    family=st.sampled_from(["pc", "q35"]),
    ram_mib=st.integers(min_value=16, max_value=64 * 1024),
    extra_gib=st.integers(min_value=0, max_value=64),
    slots=st.integers(min_value=0, max_value=8),
    windows=st.lists(st.integers(min_value=1, max_value=64), max_size=4),
)
def test_placement_invariants(
    version: str, family: str, ram_mib: int, extra_gib: int, slots: int, windows: list[int]
) -> None:
    """The register region follows device memory; the windows follow it,
    256 MiB aligned and back to back; the 64-bit PCI hole (and so the
    phys-bits check) starts after the last one."""
    ram = ram_mib * MiB
    maxmem = ram + extra_gib * GiB
    slots = slots if extra_gib else 0
    sizes = [w * CXL_FMW_ALIGN for w in windows]
    state = CXLState(True, [CXLFixedWindow(s, ["cxl.1"]) for s in sizes])
    board = PC if family == "pc" else Q35
    try:
        result = compute_layout(
            board,
            ram,
            maxmem,
            slots,
            cpu=CpuFacts(phys_bits=52),
            device_memory_only_with_maxmem=RELEASES[version].device_memory_only_with_maxmem,
            cxl=state,
        )
    except CoreError:
        return
    base = state.host_reg_base
    assert base is not None
    if result.device_memory_size:
        assert base == result.device_memory_base + result.device_memory_size
    else:
        # Right after the high RAM (10.0), else after the empty range (7.2).
        assert base >= result.above_4g_start + result.above_4g
    expected = -(-(base + CXL_HOST_REG_SIZE) // CXL_FMW_ALIGN) * CXL_FMW_ALIGN
    for window in state.fixed_windows:
        assert window.base == expected and window.base % CXL_FMW_ALIGN == 0
        expected += window.size
    assert result.cxl_end == cxl_range_end(base, state.fixed_windows)


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_windows_count_in_phys_bits_check(version: str) -> None:
    # tests/conformance/scenarios/cxl_phys_bits_amd_hole_*: -m 2G,slots=1,maxmem=4G;
    # a 996096M window ends the PCI hole at 0xfcffffffff, 256M more cross the
    # AMD hole, relocate the high RAM above 1T and no longer fit 40 bits.
    _layout(version, "q35", 2 * GiB, 4 * GiB, 1, [996096 * MiB])
    with pytest.raises(CoreError) as info:
        _layout(version, "q35", 2 * GiB, 4 * GiB, 1, [996352 * MiB])
    assert (
        str(info.value) == "Address space limit 0xffffffffff < 0x1fc3fffffff phys-bits too low (40)"
    )


@pytest.mark.parametrize(
    ("value", "release", "text"),
    [
        ({"size": "100M", "targets": ["a"]}, R72, M.CXL_FMW_SIZE_7_2),
        ({"size": "100M", "targets": ["a"]}, R100, M.CXL_FMW_SIZE),
        # ways first, then the size, then the granularity
        ({"size": "100M", "targets": list("abcde")}, R100, "Interleave ways: 5 not supported"),
        (
            {"size": "100M", "targets": ["a"], "interleave-granularity": "3k"},
            R100,
            M.CXL_FMW_SIZE,
        ),
        (
            {"size": "1G", "targets": ["a"], "interleave-granularity": "3k"},
            R100,
            "Interleave granularity: 3072 invalid",
        ),
        ({"size": "1G"}, R100, "Parameter 'cxl-fmw.0.targets' is missing"),
        ({"targets": ["a"]}, R100, "Parameter 'cxl-fmw.0.size' is missing"),
    ],
)
def test_window_checks(value: dict[str, object], release: object, text: str) -> None:
    with pytest.raises(CoreError) as info:
        set_cfmw(CXLState(), parse_cfmw_option([value]), release)  # type: ignore[arg-type]
    assert str(info.value) == text


def test_refused_window_list_kept_as_property_value() -> None:
    # qom-set /machine cxl-fmw [{size 1G, 5 targets}] on QEMU 10.0: the
    # error, yet qom-get answers the refused list; the windows stay.
    state = CXLState()
    set_cfmw(state, parse_cfmw_option([{"size": GiB, "targets": ["a"]}], keyval=False), R100)
    refused = parse_cfmw_option([{"size": GiB, "targets": list("abcde")}], keyval=False)
    with pytest.raises(CoreError, match="Interleave ways: 5 not supported"):
        set_cfmw(state, refused, R100)
    assert state.cfmw_list == refused
    assert [w.targets for w in state.fixed_windows] == [["a"]]


@pytest.mark.parametrize("ways", [1, 2, 3, 4, 6, 8, 12, 16])
def test_interleave_ways_accepted(ways: int) -> None:
    check_window(CXLFixedWindow(GiB, ["t"] * ways, 16384), R100)


def test_type3_backend_stays_in_use_after_unplug() -> None:
    # ct3_exit does not clear host_memory_backend_set_mapped: object-del
    # still refuses the backend once the device is gone (QEMU 10.0).
    m = make_machine("10.0", "q35", "1G", ready=False)
    m.config.board_options["cxl"] = CXLState(True)
    backend(m, "vm0", "256M")
    device_add(m, driver="pxb-cxl", id="cxl.1", bus="pcie.0", bus_nr=12)
    device_add(m, driver="cxl-rp", id="rp0", bus="cxl.1", chassis=1, slot=1)
    device_add(m, driver="cxl-rp", id="rp1", bus="cxl.1", chassis=1, slot=2)
    m.finish_init()
    dev = device_add(m, driver="cxl-type3", id="t0", bus="rp0", **{"volatile-memdev": "vm0"})
    assert m.memory_devices() == []
    err = device_add_error(m, driver="cxl-type3", id="t1", bus="rp1", **{"volatile-memdev": "vm0"})
    assert str(err) == "memory backend vm0 can't be used multiple times."
    m.remove_device(dev)
    with pytest.raises(CoreError, match="is in use"):
        m.object_del("vm0")
