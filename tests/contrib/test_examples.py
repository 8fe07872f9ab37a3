"""The runnable examples in contrib/ work against memdevd over a real socket."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from qemu.qmp import QMPClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def vm(tmp_path: Path) -> AsyncIterator[tuple[str, QMPClient]]:
    sock = str(tmp_path / "qmp.sock")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memdevd",
            "-machine",
            "pc",
            "-m",
            "1G,maxmem=9G",
            "-memdevd",
            "guest=cooperative,vmem-rate=512M/0.05",
            "-qmp",
            f"unix:{sock},server=on,wait=off",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    qmp = QMPClient("test")
    for _ in range(100):
        if os.path.exists(sock):
            break
        await asyncio.sleep(0.05)
    await qmp.connect(sock)
    try:
        yield sock, qmp
    finally:
        await qmp.disconnect()
        proc.terminate()
        proc.wait(10)


async def test_virtio_mem_resize_example(vm: tuple[str, QMPClient]) -> None:
    sock, qmp = vm
    await qmp.execute("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 4 << 30})
    await qmp.execute("device_add", {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m0"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "contrib" / "virtio_mem_resize.py"),
        sock,
        "vm0",
        "3G",
        "--timeout",
        "20",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    lines = out.decode().splitlines()
    assert lines[-1] == "vm0: resized to 3221225472"
    # MEMORY_DEVICE_SIZE_CHANGE reported intermediate sizes on the way.
    assert any(line.startswith("vm0: size ") for line in lines)
    devices = await qmp.execute("query-memory-devices")
    assert devices[0]["data"]["size"] == 3 << 30


async def test_virtio_mem_resize_times_out_on_a_paused_vm(vm: tuple[str, QMPClient]) -> None:
    sock, qmp = vm
    await qmp.execute("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 4 << 30})
    await qmp.execute("device_add", {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m0"})
    await qmp.execute("stop")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "contrib" / "virtio_mem_resize.py"),
        sock,
        "vm0",
        "1G",
        "--timeout",
        "1",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 1
    assert b"timed out: vm0 has 0 of 1073741824 bytes" in err
