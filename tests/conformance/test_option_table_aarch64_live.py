"""qemu-system-aarch64's option table (memdevd/targets/aarch64/options.py,
written by ``tools/gen_qemu_option_table.py --target aarch64`` from the 7.2
and 10.0 source trees) against the live binaries.

Every option of the table is known to the binary (with an argument: alone
it "requires an argument"), the ones whose arch mask lacks ``ARCH_ARM``
are refused ("Option not supported for this target"), and the options of
the other release only are unknown ("invalid option"), as QEMU's first
pass over argv (vl.c ``lookup_opt()``) says before it does anything.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "memdevd" / "targets" / "aarch64" / "options.py"
PROG = "qemu-system-aarch64"
BINARIES = {
    "7.2": ("MEMDEVD_QEMU_AARCH64_7_2", "/usr/bin/qemu-system-aarch64"),
    "10.0": ("MEMDEVD_QEMU_AARCH64_10_0", "/opt/qemu-10.0/bin/qemu-system-aarch64"),
}


def _table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aarch64_options", TABLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checks(version: str) -> list[tuple[tuple[str, ...], str]]:
    """(argv, the error QEMU's first pass prints) for every option."""
    table = _table()
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


def test_table_is_the_x86_one_with_the_arm_bit() -> None:
    """The DEF() entries are compiled into every target: only the bit differs."""
    from memdevd.targets.x86_64 import options as x86

    table = _table()
    assert table.ARCH_ARM == 2
    assert table.OPTIONS_7_2 == x86.OPTIONS_7_2
    assert table.OPTIONS_10_0 == x86.OPTIONS_10_0
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
