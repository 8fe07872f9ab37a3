"""The arm virt memory map (targets/aarch64/layout.py, hw/arm/virt.c
virt_set_memmap), its CPU models' address ranges and the -machine
properties: values checked against live qemu-system-aarch64 7.2 and 11.1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.releases.table import RELEASES
from memdevd.targets.aarch64 import cpus
from memdevd.targets.aarch64.board import VIRT, apply_option
from memdevd.targets.aarch64.layout import compute_layout, requested_pa_size

GiB = 1 << 30


def test_device_memory_after_ram():
    # -m 1G,slots=4,maxmem=8G: the first DIMM lands at 2 GiB (live 7.2, 11.1).
    layout = compute_layout(GiB, 8 * GiB, 4, 52)
    assert layout.device_memory_base == 2 * GiB
    assert layout.device_memory_size == 7 * GiB + 4 * GiB
    # the high IO regions start at 256 GiB: redists, ECAM, then MMIO at 512 GiB
    assert [(r.base, r.enabled) for r in layout.high] == [
        (256 * GiB, True),
        (256 * GiB + (256 << 20), True),
        (512 * GiB, True),
    ]
    assert layout.highest_gpa == 1024 * GiB - 1


def test_addressing_limited_texts():
    # -cpu cortex-a53 -m 1G,slots=4,maxmem=2000G (live: 1053340729344 bytes)
    bits, _ = cpus.pamax("cortex-a53")
    with pytest.raises(CoreError) as err:
        compute_layout(GiB, 2000 * GiB, 4, bits)
    assert err.value.desc == (
        "Addressing limited to 40 bits, but memory exceeds it by 1053340729344 bytes"
    )
    # highmem=off: 32 bits; 7.2's text ends in "\n" (an empty line printed).
    with pytest.raises(CoreError) as err:
        compute_layout(
            GiB,
            3 * GiB,
            2,
            52,
            highmem=False,
            addressing_limited_text=RELEASES["7.2"].virt_addressing_limited_text,
        )
    assert err.value.desc == (
        "Addressing limited to 32 bits, but memory exceeds it by 2147483648 bytes\n"
    )


def test_slots_limit():
    with pytest.raises(CoreError) as err:
        compute_layout(GiB, 2 * GiB, 300, 52)
    assert err.value.desc == M.VIRT_UNSUPPORTED_RAM_SLOTS.format(300)


def test_compact_layout_skips_disabled_regions():
    # 40 bits (cortex-a53), 602 GiB of memory: the 512 GiB MMIO window would
    # start at 1 TiB and is disabled; the highest address is the ECAM's end.
    small = compute_layout(GiB, 600 * GiB, 1, 40)
    assert small.memtop == 602 * GiB
    assert [r.enabled for r in small.high] == [True, True, False]
    assert small.highest_gpa == 602 * GiB + (256 << 20) + (256 << 20) - 1
    # highmem-ecam=off: compact moves MMIO down, legacy keeps the hole
    compact = compute_layout(GiB, 2 * GiB, 1, 52, enabled={"highmem-ecam": False})
    legacy = compute_layout(GiB, 2 * GiB, 1, 52, enabled={"highmem-ecam": False}, compact=False)
    assert compact.region("highmem-mmio").base == legacy.region("highmem-mmio").base == 512 * GiB
    assert not compact.region("highmem-ecam").enabled


@given(
    ram=st.integers(1, 64).map(lambda n: n * (128 << 20)),
    extra=st.integers(0, 1 << 14).map(lambda n: n * GiB),
    slots=st.integers(0, 256),
    model=st.sampled_from(sorted(cpus.PAMAX)),
    compact=st.booleans(),
)
def test_layout_invariants(ram, extra, slots, model, compact):
    bits, _ = cpus.pamax(model)
    maxmem = ram + extra
    try:
        layout = compute_layout(ram, maxmem, slots, bits, compact=compact)
    except CoreError as err:
        top = -(-(GiB + ram) // GiB) * GiB + -(-(extra + slots * GiB) // GiB) * GiB
        assert top > 1 << bits
        assert err.desc.startswith(f"Addressing limited to {bits} bits")
        return
    assert layout.device_memory_base % GiB == 0
    assert layout.device_memory_base >= GiB + ram
    assert layout.device_memory_base + layout.device_memory_size <= layout.memtop
    assert requested_pa_size(layout) <= bits
    for region in layout.high:
        assert region.base % region.size == 0
        assert region.base >= max(layout.memtop, 256 * GiB)
        if region.enabled:
            assert region.base + region.size <= 1 << bits
            assert region.base + region.size - 1 <= layout.highest_gpa


def test_cpu_ranges_and_checks():
    assert cpus.pamax("max") == (52, True)
    assert cpus.pamax("neoverse-n1") == (48, True)
    assert cpus.pamax("cortex-a57") == (44, True)
    assert cpus.pamax("cortex-a15") == (40, False)
    with pytest.raises(CoreError) as err:
        cpus.check_valid_cpu(RELEASES["11.1"], "cortex-a9")
    assert err.value.desc == "Invalid CPU model: cortex-a9"
    assert err.value.hint == (
        "The valid models are: cortex-a7, cortex-a15, cortex-a35, cortex-a55, cortex-a72, "
        "cortex-a76, cortex-a710, a64fx, neoverse-n1, neoverse-v1, neoverse-n2, "
        "cortex-a53, cortex-a57, max\n"
    )
    with pytest.raises(CoreError) as err:
        cpus.check_valid_cpu(RELEASES["7.2"], "cortex-a9")
    assert err.value.desc == "mach-virt: CPU type cortex-a9-arm-cpu not supported"


def test_versioned_compat():
    assert VIRT.compat_props("virt-4.1")["virt.no-ged"] is True
    assert "virt.no-ged" not in VIRT.compat_props("virt-4.2")
    assert VIRT.compat_props("virt-7.1")["virt.no-highmem-compact"] is True
    assert "virt.no-highmem-compact" not in VIRT.compat_props("virt-7.2")


def test_machine_options():
    from memdevd.machine.machine import MachineConfig

    config = MachineConfig(machine_type="virt-10.0", board=VIRT)
    with pytest.raises(CoreError) as err:
        apply_option(config, "highmem-mmio-size", "100G", RELEASES["10.0"])
    assert err.value.desc == M.VIRT_HIGHMEM_MMIO_SIZE_NOT_POW2
    with pytest.raises(CoreError) as err:
        apply_option(config, "highmem-mmio-size", "256G", RELEASES["10.0"])
    assert err.value.desc == (
        "highmem-mmio-size cannot be set to a lower value than the default (512 GiB)"
    )
    assert apply_option(config, "highmem-mmio-size", "1T", RELEASES["10.0"])
    assert config.board_options["highmem-mmio-size"] == 1 << 40
    with pytest.raises(CoreError) as err:
        apply_option(config, "highmem-mmio-size", "1T", RELEASES["7.2"])
    assert err.value.desc == "Property 'virt-10.0-machine.highmem-mmio-size' not found"
    with pytest.raises(CoreError) as err:
        apply_option(config, "highmem-ecam", "off", RELEASES["7.2"])
    assert err.value.desc == "Property 'virt-10.0-machine.highmem-ecam' not found"
    assert apply_option(config, "highmem", "off", RELEASES["7.2"])
    assert config.board_options["highmem"] is False
    assert not apply_option(config, "usb", "on", RELEASES["10.0"])
