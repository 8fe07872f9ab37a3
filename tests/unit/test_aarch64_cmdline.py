"""qemu-system-aarch64's command line (targets/aarch64/cmdline.py): its own
option table, whose arch bit refuses x86-only options and knows the arm
ones, as the live binaries do (tests/conformance/test_option_table_aarch64_live.py
checks the table, the texts below were seen live on 7.2 and 10.0)."""

from __future__ import annotations

import pytest

from memdevd.app import cli
from memdevd.releases.table import get_release
from memdevd.targets import options_table
from memdevd.targets.aarch64.target import TARGET
from memdevd.util.qemu_opts import OptionError

BASE = ("-machine", "virt", "-display", "none", "-nodefaults", "-S")


def first_error(version: str, *argv: str) -> str:
    full = ["-memdevd", f"version={version},target=aarch64", *argv, *BASE]
    with pytest.raises(OptionError) as info:
        cli.build_daemon(cli.parse(full, "qemu-system-aarch64"), "qemu-system-aarch64")
    err = info.value
    return f"{err.location}: {err.message}" if err.location else err.message


@pytest.mark.parametrize("version", ["7.2", "8.2", "10.0", "11.1"])
def test_the_syntax_is_the_arm_table(version: str) -> None:
    syntax = TARGET.syntax(get_release(version))
    assert syntax.arch_mask == options_table.ARCH_ARM
    assert syntax.name == f"aarch64 {version}"


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_x86_options_are_refused_and_arm_ones_known(version: str) -> None:
    assert first_error(version, "-no-fd-bootchk") == (
        "-no-fd-bootchk: Option not supported for this target"
    )
    assert first_error(version, "-win2k-hack") == (
        "-win2k-hack: Option not supported for this target"
    )
    # known to the arm binary (not "invalid option"), though not emulated
    assert "invalid option" not in first_error(version, "-semihosting")


def test_no_hpet_is_x86_only_in_7_2_and_gone_in_10_0() -> None:
    assert first_error("7.2", "-no-hpet").endswith("-no-hpet: Option not supported for this target")
    assert first_error("10.0", "-no-hpet").endswith("-no-hpet: invalid option")
