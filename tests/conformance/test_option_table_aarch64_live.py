"""qemu-system-aarch64's command line against the live binaries: the
option table every target shares (memdevd/targets/options_table.py, written
by ``tools/gen_qemu_option_table.py`` from the 7.2 and 10.0 source trees)
seen through the ARM bit.

Every option of the table is known to the binary (with an argument: alone
it "requires an argument"), the ones whose arch mask lacks ``ARCH_ARM``
are refused ("Option not supported for this target"), and the options of
the other release only are unknown ("invalid option"), as QEMU's first
pass over argv (vl.c ``lookup_opt()``) says before it does anything.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from memdevd.releases.table import get_release
from memdevd.targets import options_table as table
from memdevd.targets.aarch64.cmdline import syntax

PROG = "qemu-system-aarch64"
BINARIES = {
    "7.2": ("MEMDEVD_QEMU_AARCH64_7_2", "/usr/bin/qemu-system-aarch64"),
    "10.0": ("MEMDEVD_QEMU_AARCH64_10_0", "/opt/qemu-10.0/bin/qemu-system-aarch64"),
}


def _checks(version: str) -> list[tuple[tuple[str, ...], str]]:
    """(argv, the error QEMU's first pass prints) for every option."""
    tag = version.replace(".", "_")
    other = "10_0" if tag == "7_2" else "7_2"
    checks: list[tuple[tuple[str, ...], str]] = []
    for opt in getattr(table, f"OPTIONS_{tag}"):
        if opt.has_arg:
            checks.append(((f"-{opt.name}",), f"-{opt.name}: requires an argument"))
            if not opt.arch_mask & table.ARCH_ARM:
                checks.append(
                    (
                        (f"-{opt.name}", "x"),
                        f"-{opt.name} x: Option not supported for this target",
                    )
                )
        else:
            checks.append(((f"-{opt.name}", "-zz-none"), "-zz-none: invalid option"))
    for name in sorted(getattr(table, f"ONLY_IN_{other}")):
        checks.append(((f"-{name}",), f"-{name}: invalid option"))
    return checks


def test_the_shared_table_with_the_arm_bit() -> None:
    """The DEF() entries are compiled into every target: only the bit differs."""
    assert table.ARCH_ARM == 2
    for version in ("7.2", "10.0"):
        s = syntax(get_release(version))
        assert s.options is table.TABLES[version][0] and s.arch_mask == table.ARCH_ARM
    refused = {o.name for o in table.OPTIONS_10_0 if not o.arch_mask & table.ARCH_ARM}
    assert "no-fd-bootchk" in refused and "global" not in refused


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", sorted(BINARIES))
def test_option_table_matches_qemu_system_aarch64(version: str) -> None:
    env, default = BINARIES[version]
    binary = os.environ.get(env) or default
    if not os.access(binary, os.X_OK):
        pytest.skip(f"qemu-system-aarch64 {version} is not installed ({binary})")

    def run(check: tuple[tuple[str, ...], str]) -> tuple[tuple[str, ...], str, int] | None:
        argv, expected = check
        proc = subprocess.run(
            [binary, *argv], capture_output=True, text=True, timeout=60, check=False
        )
        if proc.stderr == f"{PROG}: {expected}\n" and proc.returncode == 1:
            return None
        return argv, proc.stderr, proc.returncode

    with ThreadPoolExecutor(max_workers=4) as pool:
        wrong = [r for r in pool.map(run, _checks(version)) if r is not None]
    assert not wrong
