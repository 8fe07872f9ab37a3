"""virt's flash drives (targets/aarch64/flash.py): which drive makes
firmware (and so the acpi-ged DIMM hot-plug needs), QEMU's refusals per
release.  Compared live in the virt_pflash_* conformance scenarios."""

from __future__ import annotations

import pytest

from memdevd.app import cli
from memdevd.util.qemu_opts import OptionError

BASE = ("-cpu", "cortex-a57", "-m", "1G,slots=4,maxmem=8G", "-nodefaults", "-display", "none")
FLASH = "null-co,node-name={},size={}"
GED_MISSING = "memory hotplug is not enabled: missing acpi-ged device"


def build(version: str, *argv: str) -> object:
    full = ["-memdevd", f"version={version},target=aarch64", *BASE, *argv]
    daemon, _ = cli.build_daemon(cli.parse(full, "qemu-system-aarch64"), "qemu-system-aarch64")
    return daemon.machine


def has_ged(version: str, *argv: str) -> bool:
    return bool(build(version, *argv).board_state["acpi-ged"])  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_a_drive_in_flash0_is_firmware(version: str) -> None:
    code = ("-blockdev", FLASH.format("code", 64 << 20))
    assert has_ged(version, *code, "-machine", "virt,pflash0=code")
    assert has_ged(
        version, "-drive", f"if=pflash,driver=null-co,size={64 << 20}", "-machine", "virt"
    )
    # flash1 alone is no firmware; nothing is none either
    assert not has_ged(version, *code, "-machine", "virt,pflash1=code")
    assert not has_ged(version, "-machine", "virt")
    # ACPI off: no GED whatever the firmware
    assert not has_ged(version, *code, "-machine", "virt,pflash0=code,acpi=off")


def start_error(version: str, *argv: str) -> str:
    with pytest.raises(OptionError) as info:
        build(version, *argv)
    return info.value.message


def test_refusals_are_qemu_s() -> None:
    small = ("-blockdev", FLASH.format("code", 65536), "-machine", "virt,pflash0=code")
    assert start_error("7.2", *small) == (
        "device requires 67108864 bytes, block backend provides 65536 bytes"
    )
    assert start_error("10.0", *small) == (
        "cfi.pflash01 device '/machine/virt.flash0' requires 67108864 bytes,"
        "  block backend provides 65536 bytes"
    )
    assert start_error("10.0", "-machine", "virt,pflash0=nope") == (
        "Property 'cfi.pflash01.drive' can't find value 'nope'"
    )
    both = ("-blockdev", FLASH.format("code", 64 << 20), "-machine", "virt,pflash0=code")
    assert start_error("10.0", *both, "-bios", "/dev/null").startswith(
        "The contents of the first flash device may be specified with -bios"
    )
