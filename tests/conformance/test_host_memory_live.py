"""Live: ``-memdevd host-memory=`` set to this host's RAM + swap makes
memdevd refuse what real QEMU refuses here when it maps anonymous guest RAM.

Linux's default overcommit policy (vm.overcommit_memory=0) refuses one
private mapping larger than RAM + swap, skips MAP_NORESERVE (reserve=off)
mappings and does not add mappings up; QEMU then fails with ``cannot set
up guest memory 'ID': Cannot allocate memory``.  Each case runs the same
scenario against QEMU 7.2 and 10.0 on this host and against memdevd with
``host-memory=`` this host's size (sizes far from the limit, so the host's
other processes do not matter).  Nothing is preallocated: no page is
touched on the real QEMU side.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from memdevd.devtools.scenario import CommandTarget, compare_live, parse_scenario, qemu_target

pytestmark = [pytest.mark.live_qemu, pytest.mark.slow]

QEMU = {
    "7.2": os.environ.get("MEMDEVD_QEMU_7_2") or "/usr/bin/qemu-system-x86_64",
    "10.0": os.environ.get("MEMDEVD_QEMU_10_0") or "/opt/qemu-10.0/bin/qemu-system-x86_64",
}
GiB = 1 << 30


def host_memory() -> int | None:
    """RAM + swap in bytes, as the kernel's heuristic compares; None unless
    the heuristic policy is in force."""
    try:
        if Path("/proc/sys/vm/overcommit_memory").read_text().strip() != "0":
            return None
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    except OSError:
        return None
    kib = int(fields["MemTotal"].split()[0]) + int(fields["SwapTotal"].split()[0])
    return kib * 1024


def memdevd(version: str, memory: int) -> CommandTarget:
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    settings = f"version={version},host-memory={memory // 1024}K"
    return CommandTarget(
        (sys.executable, "-m", "memdevd", "-memdevd", settings, "{argv}"),
        prog_names=("memdevd",),
        env=env,
    )


def _gib(size: int) -> int:
    return size // GiB * GiB


def cases(memory: int) -> dict[str, dict[str, object]]:
    big = _gib(2 * memory)  # beyond what the host can commit
    most = _gib(memory * 3 // 4)  # one fits; two would not, were they added up
    base = ["-machine", "q35", "-nodefaults", "-display", "none", "-S"]

    def add(obj_id: str, size: int, **extra: object) -> dict[str, object]:
        args = {"qom-type": "memory-backend-ram", "id": obj_id, "size": size, **extra}
        return {"send": {"execute": "object-add", "arguments": args}}

    caps = {"send": {"execute": "qmp_capabilities"}}
    # /objects is a hash table in QEMU: its order is not memdevd's.
    memdev = {"send": {"execute": "query-memdev"}, "unordered": True}
    return {
        "object_too_big": {
            "argv": [*base, "-object", f"memory-backend-ram,id=m0,size={big}"],
            "steps": [caps],
        },
        "boot_ram_too_big": {"argv": [*base, "-m", f"{big // GiB}G"], "steps": [caps]},
        "object_add": {
            "argv": base,
            "steps": [
                caps,
                add("big", big),
                add("noreserve", big, reserve=False),
                add("a", most),
                add("b", most),
                add("big", big),
                memdev,
            ],
        },
    }


@pytest.mark.parametrize("version", ["7.2", "10.0"])
@pytest.mark.parametrize("case", ["object_too_big", "boot_ram_too_big", "object_add"])
def test_host_memory_matches_this_host(case: str, version: str) -> None:
    memory = host_memory()
    if memory is None:
        pytest.skip("needs Linux with vm.overcommit_memory=0")
    binary = QEMU[version]
    if not os.access(binary, os.X_OK):
        pytest.skip(f"QEMU {version} not found at {binary}")
    data = {"name": f"host_memory_{case}", **cases(memory)[case]}
    scenario = parse_scenario(data)
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd(version, memory)))
    if not result.ok:
        pytest.fail(result.message, pytrace=False)
