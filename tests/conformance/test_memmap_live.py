"""Live: ``memdevd map`` reads a real QEMU as it reads memdevd.

The map's state comes only from what goes over QMP (query-memory-devices,
the machine's ``memory`` property, HMP ``info mtree``), so for the same
argv QEMU and memdevd must give the same state, except memdevd's own
memslot accounting.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from memdevd.devtools.memmap import read_state, render_svg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, qemu_binary, run_memdevd, run_qemu
from test_hmp_live import COMMON

pytestmark = pytest.mark.live_qemu

ARGV = [
    *COMMON,
    "-machine",
    "q35",
    "-m",
    "1G,slots=4,maxmem=16G",
    "-object",
    "memory-backend-ram,id=m0,size=1G",
    "-device",
    "pc-dimm,id=d0,memdev=m0",
    "-object",
    "memory-backend-ram,id=vm,size=4G",
    "-device",
    "pcie-root-port,id=rp0,chassis=1",
    "-device",
    "virtio-mem-pci,id=vmem0,memdev=vm,bus=rp0,requested-size=1G",
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_map_state_like_qemu(version: str) -> None:
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} not installed")
    async with run_qemu(version, ARGV) as qemu:
        _, writer, _ = await qemu.connect()  # wait for the socket
        writer.close()  # QEMU's monitor serves one client at a time
        await writer.wait_closed()
        expected = await asyncio.to_thread(read_state, qemu.socket_path)
    async with run_memdevd(version, ARGV) as sock:
        for _ in range(500):
            # Listening, not just bound: the file exists from bind().
            try:
                actual = await asyncio.to_thread(read_state, sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                await asyncio.sleep(0.02)
        else:
            raise AssertionError("memdevd never listened on its socket")
    assert expected["memslots"] is None and actual["memslots"] is not None
    for key in ("device-memory", "memory", "devices"):
        assert actual[key] == expected[key], key
    assert "vmem0" in render_svg(expected)
