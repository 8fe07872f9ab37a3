"""Live: HMP ``info`` commands through ``human-monitor-command``, QEMU vs memdevd.

Each case starts real QEMU and memdevd with the same argv, plugs the same
devices over QMP, and compares the text of every ``info`` command memdevd
emulates.  ``info mtree`` is compared on the device-memory part (memdevd
prints only that part of the ``memory`` address space); ``info memdev``
block by block (its order is GLib's hash order, a listed divergence).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from qemu.qmp import ConnectError, QMPClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, qemu_binary, run_memdevd, run_qemu

pytestmark = pytest.mark.live_qemu

COMMON = ["-S", "-nodefaults", "-display", "none"]
GiB = 1 << 30
MiB = 1 << 20

LINES = [
    "info memory-devices",
    "info memdev",
    "info numa",
    "info memory_size_summary",
    "info status",
    "info kvm",
    "info name",
    "info mtree",
    "info bogus",
    "info memdev extra",
    "help info memory-devices",
    "",
]

CASES: dict[str, tuple[list[str], list[tuple[str, dict[str, Any]]]]] = {
    "pc-dimms": (
        [
            "-machine",
            "pc",
            "-name",
            "vm1",
            "-m",
            "1G,slots=4,maxmem=8G",
            "-object",
            "memory-backend-ram,id=m0,size=1G",
            "-device",
            "pc-dimm,id=d0,memdev=m0",
        ],
        [
            (
                "object-add",
                {
                    "qom-type": "memory-backend-ram",
                    "id": "m1",
                    "size": 512 * MiB,
                    "host-nodes": [0],
                    "policy": "bind",
                },
            ),
            ("device_add", {"driver": "pc-dimm", "memdev": "m1"}),
            ("cont", {}),
        ],
    ),
    "q35-numa-mixed": (
        [
            "-machine",
            "q35,nvdimm=on",
            "-smp",
            "4",
            "-m",
            "2G,slots=4,maxmem=16G",
            "-object",
            "memory-backend-ram,id=n0,size=1G",
            "-object",
            "memory-backend-ram,id=n1,size=1G",
            "-numa",
            "node,nodeid=0,memdev=n0",
            "-numa",
            "node,nodeid=1,memdev=n1",
            "-object",
            "memory-backend-ram,id=m0,size=1G",
            "-device",
            "pc-dimm,id=d0,memdev=m0,node=1",
            "-object",
            "memory-backend-ram,id=vm,size=4G",
            "-device",
            "pcie-root-port,id=rp0,chassis=1",
            "-device",
            "virtio-mem-pci,id=vmem0,memdev=vm,bus=rp0,node=1",
            "-device",
            "pcie-root-port,id=rp1,chassis=2",
            "-object",
            "memory-backend-ram,id=nv,size=512M,share=on",
            "-device",
            "nvdimm,id=nv0,memdev=nv,label-size=128K",
        ],
        [
            ("object-add", {"qom-type": "memory-backend-ram", "id": "pm", "size": GiB}),
            (
                "device_add",
                {"driver": "virtio-pmem-pci", "id": "pmem0", "memdev": "pm", "bus": "rp1"},
            ),
        ],
    ),
    "old-type-sockets": (
        [
            "-machine",
            "pc-i440fx-6.1",
            "-smp",
            "4",
            "-m",
            "2G,slots=2,maxmem=4G",
            "-object",
            "memory-backend-ram,id=a,size=1G",
            "-object",
            "memory-backend-ram,id=b,size=1G",
            "-numa",
            "node,nodeid=0,memdev=a",
            "-numa",
            "node,nodeid=1,memdev=b",
        ],
        [],
    ),
    "no-maxmem": (["-machine", "pc", "-m", "1G"], []),
}


async def collect(sock: str, steps: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    client = QMPClient("hmp")
    for _ in range(500):
        try:
            await client.connect(sock)
            break
        except ConnectError:
            await asyncio.sleep(0.02)
    try:
        for cmd, args in steps:
            await client.execute(cmd, args)
        out = {}
        for line in LINES:
            text = await client.execute("human-monitor-command", {"command-line": line})
            assert isinstance(text, str)
            out[line] = text
        return out
    finally:
        await client.disconnect()


def device_memory_part(mtree: str) -> list[str]:
    """The device-memory region's lines of QEMU's ``memory`` address space."""
    block = mtree.split("address-space: memory\r\n", 1)[1].split("\r\n\r\n", 1)[0]
    lines = block.split("\r\n")
    out: list[str] = []
    depth = None
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if depth is None:
            if line.endswith("): device-memory"):
                depth = indent
                out.append(line)
        elif indent > depth:
            out.append(line)
        else:
            break
    return out


def memdev_blocks(text: str) -> list[str]:
    assert text.endswith("\r\n\r\n")
    return sorted(text[: -len("\r\n")].split("memory backend: ")[1:])


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
async def test_hmp_info_like_qemu(version: str, case: str) -> None:
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} not installed")
    argv, steps = CASES[case]
    async with run_qemu(version, [*COMMON, *argv]) as qemu:
        expected = await collect(qemu.socket_path, steps)
    async with run_memdevd(version, [*COMMON, *argv]) as sock:
        actual = await collect(sock, steps)
    for line in LINES:
        want, got = expected[line], actual[line]
        if line == "info mtree":
            assert device_memory_part(got) == device_memory_part(want)
            assert got.startswith("address-space: memory\r\n")
        elif line == "info memdev":
            assert memdev_blocks(got) == memdev_blocks(want)
        else:
            assert got == want, line


async def test_hmp_mtree_dynamic_memslots_10_0() -> None:
    # dynamic-memslots (8.2+): a "virtio-mem" container; no memslot is mapped
    # before a guest plugs memory.
    if qemu_binary("10.0") is None:
        pytest.skip("QEMU 10.0 not installed")
    argv = [
        *COMMON,
        "-machine",
        "q35",
        "-m",
        "1G,slots=2,maxmem=16G",
        "-object",
        "memory-backend-ram,id=vm,size=8G",
        "-device",
        "virtio-mem-pci,id=vmem0,memdev=vm,dynamic-memslots=on",
    ]
    async with run_qemu("10.0", argv) as qemu:
        expected = await collect(qemu.socket_path, [])
    async with run_memdevd("10.0", argv) as sock:
        actual = await collect(sock, [])
    assert device_memory_part(actual["info mtree"]) == device_memory_part(expected["info mtree"])
    assert "virtio-mem" in actual["info mtree"]
    assert actual["info memory-devices"] == expected["info memory-devices"]
