"""Conformance: where the CXL regions are, memdevd against live QEMU 7.2 and 10.0.

Each case starts real QEMU and memdevd with the same argv and compares the
CXL lines of HMP ``info mtree``'s ``memory`` address space (the
``cxl_host_reg`` region with a block per ``pxb-cxl``, the
``cxl-fixed-memory-region`` windows) and the device-memory region they
follow: the placement ``pc_memory_init`` gives them, which differs between
7.2 and 10.0 without ``maxmem``.  The start-up checks (phys-bits, the
windows' options, the devices) are scenarios (``scenarios/cxl_*.json``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from qemu.qmp import ConnectError, QMPClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, qemu_binary, run_memdevd, run_qemu

pytestmark = pytest.mark.live_qemu

COMMON = ["-S", "-nodefaults", "-display", "none"]
PXB = ["-device", "pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1"]
WINDOW = ",cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G"

CASES: dict[str, list[str]] = {
    "no-window": ["-machine", "q35,cxl=on", *PXB],
    "window": ["-machine", "q35,cxl=on" + WINDOW, *PXB],
    # 1.5G above 4G: 7.2 starts after the empty device-memory range
    "high-ram": ["-machine", "q35,cxl=on" + WINDOW, "-m", "3584M", *PXB],
    "maxmem": ["-machine", "q35,cxl=on" + WINDOW, "-m", "3584M,slots=2,maxmem=8G", *PXB],
    "two-windows-two-bridges": [
        "-machine",
        "q35,cxl=on" + WINDOW + ",cxl-fmw.1.targets.0=cxl.1,cxl-fmw.1.targets.1=cxl.2"
        ",cxl-fmw.1.size=768M",
        "-m",
        "2G",
        *PXB,
        "-device",
        "pxb-cxl,bus_nr=30,bus=pcie.0,id=cxl.2",
    ],
    "no-bridge": ["-machine", "q35,cxl=on", "-m", "5G"],
    "pc": ["-machine", "pc,cxl=on", "-m", "3584M"],
}


async def mtree(sock: str) -> str:
    client = QMPClient("cxl")
    for _ in range(500):
        try:
            await client.connect(sock)
            break
        except ConnectError:
            await asyncio.sleep(0.02)
    try:
        text = await client.execute("human-monitor-command", {"command-line": "info mtree"})
        assert isinstance(text, str)
        return text
    finally:
        await client.disconnect()


def cxl_part(text: str) -> list[str]:
    """The device-memory and CXL lines of the ``memory`` address space."""
    block = text.split("address-space: memory\r\n", 1)[1].split("\r\n\r\n", 1)[0]
    wanted = ("): device-memory", "): cxl_host_reg", "): pxb-cxl-host", "): cxl-fixed-memory")
    return [line for line in block.split("\r\n") if line.endswith(wanted)]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
async def test_cxl_regions_like_qemu(version: str, case: str) -> None:
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} not installed")
    argv = [*COMMON, *CASES[case]]
    async with run_qemu(version, argv) as qemu:
        expected = cxl_part(await mtree(qemu.socket_path))
    async with run_memdevd(version, argv) as sock:
        actual = cxl_part(await mtree(sock))
    assert any("cxl_host_reg" in line for line in expected)
    assert actual == expected


async def test_pxb_cxl_numa_node_10_0() -> None:
    # QEMU 7.2's pxb_cxl_dev_realize ignores this error and resets the host
    # bridge it never made (SIGSEGV): compared on 10.0 only.
    if qemu_binary("10.0") is None:
        pytest.skip("QEMU 10.0 not installed")
    from memdevd.devtools.scenario import (
        Scenario,
        Step,
        compare_live,
        memdevd_target,
        qemu_target,
    )

    argv = ("-machine", "q35,cxl=on", *COMMON, PXB[0], PXB[1] + ",numa_node=1")
    scenario = Scenario(
        name="cxl_pxb_numa_node",
        argv=argv,
        steps=(Step(send={"execute": "qmp_capabilities"}),),
    )
    binary = qemu_binary("10.0")
    assert binary is not None
    result = await compare_live(scenario, qemu_target(binary), memdevd_target("10.0"))
    assert result.ok, result.message
