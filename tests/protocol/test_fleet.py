"""``memdevd fleet``: many VMs in one process, each on its own socket."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from protocol_harness import RawQMP, mask_event

GiB = 1 << 30
TEMPLATE = "-S -nodefaults -machine pc -m 1G,slots=4,maxmem=8G"


@pytest.fixture
def fleet_dir(workdir: Path) -> Path:
    return workdir


def start_fleet(directory: Path, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "memdevd", "fleet", "--dir", str(directory), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc


@pytest.fixture
def fleet(fleet_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_fleet(fleet_dir, "--count", "3", "--template", TEMPLATE)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


async def connect(path: Path) -> RawQMP:
    for _ in range(500):
        if path.exists():
            break
        await asyncio.sleep(0.02)
    client = await RawQMP.connect(path)
    await client.negotiate()
    return client


async def ok(client: RawQMP, cmd: str, args: dict[str, Any] | None = None) -> Any:
    return await client.ok(cmd, args)


async def test_vms_are_independent_machines(
    fleet: subprocess.Popen[bytes], fleet_dir: Path
) -> None:
    a = await connect(fleet_dir / "vm0.sock")
    b = await connect(fleet_dir / "vm1.sock")
    await ok(a, "object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB})
    await ok(a, "device_add", {"driver": "pc-dimm", "id": "d0", "memdev": "m0"})
    assert [d["data"]["id"] for d in await ok(a, "query-memory-devices")] == ["d0"]
    assert await ok(b, "query-memory-devices") == []
    # The same plug gives the same address in another VM.
    await ok(b, "object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB})
    await ok(b, "device_add", {"driver": "pc-dimm", "id": "d0", "memdev": "m0"})
    assert (await ok(a, "query-memory-devices")) == (await ok(b, "query-memory-devices"))
    await a.close()
    await b.close()
    limits = Path(f"/proc/{fleet.pid}/limits").read_text()
    soft, hard = next(
        line for line in limits.splitlines() if line.startswith("Max open files")
    ).split()[3:5]
    assert soft == hard


async def test_control_socket_adds_lists_and_removes(
    fleet: subprocess.Popen[bytes], fleet_dir: Path
) -> None:
    control = await connect(fleet_dir / "fleet.sock")
    names = [vm["name"] for vm in await ok(control, "x-memdevd-fleet-list")]
    assert names == ["vm0", "vm1", "vm2"]
    added = await ok(
        control,
        "x-memdevd-fleet-add",
        {
            "name": "old",
            "argv": ["-machine", "q35", "-m", "2G,slots=2,maxmem=4G", "-memdevd", "version=7.2"],
        },
    )
    assert added["socket"] == str(fleet_dir / "old.sock") and added["version"] == "7.2"
    assert added["status"] == "running"
    old = await connect(fleet_dir / "old.sock")
    version = await ok(old, "query-version")
    assert (version["qemu"]["major"], version["qemu"]["minor"]) == (7, 2)
    # QEMU's own error for a bad argv; the fleet is unchanged.
    reply = await control.execute(
        "x-memdevd-fleet-add", {"name": "bad", "argv": ["-machine", "pc", "-m", "1G,maxmem=512M"]}
    )
    assert reply["error"]["class"] == "GenericError"
    assert reply["error"]["desc"] == (
        "bad: invalid value of maxmem: maximum memory size (0x20000000)"
        " must be at least the initial memory size (0x40000000)"
    )
    reply = await control.execute("x-memdevd-fleet-add", {"name": "vm0", "argv": []})
    assert reply["error"]["desc"] == "VM 'vm0' exists"
    # Removing a VM is killing its QEMU: SHUTDOWN, then the socket goes.
    await ok(control, "x-memdevd-fleet-remove", {"name": "old"})
    assert mask_event(await old.recv()) == {
        "event": "SHUTDOWN",
        "data": {"guest": False, "reason": "host-signal"},
    }
    assert not (fleet_dir / "old.sock").exists()
    names = [vm["name"] for vm in await ok(control, "x-memdevd-fleet-list")]
    assert names == ["vm0", "vm1", "vm2"]
    # A VM that quits leaves the fleet.
    vm2 = await connect(fleet_dir / "vm2.sock")
    await ok(vm2, "quit")
    for _ in range(100):
        names = [vm["name"] for vm in await ok(control, "x-memdevd-fleet-list")]
        if "vm2" not in names:
            break
        await asyncio.sleep(0.02)
    assert names == ["vm0", "vm1"]
    await control.close()


async def test_sigterm_stops_every_vm(fleet: subprocess.Popen[bytes], fleet_dir: Path) -> None:
    vm0 = await connect(fleet_dir / "vm0.sock")
    fleet.send_signal(signal.SIGTERM)
    assert mask_event(await vm0.recv())["event"] == "SHUTDOWN"
    assert fleet.wait(10) == 0
    assert sorted(os.listdir(fleet_dir)) == []


async def test_vms_from_args_files(fleet_dir: Path) -> None:
    (fleet_dir / "small.args").write_text("-machine pc -m 1G,slots=2,maxmem=4G  # a comment\n")
    (fleet_dir / "big.args").write_text("-machine q35\n-m 4G,slots=8,maxmem=64G\n")
    proc = start_fleet(fleet_dir)
    try:
        control = await connect(fleet_dir / "fleet.sock")
        listed = {vm["name"]: vm["argv"] for vm in await ok(control, "x-memdevd-fleet-list")}
        assert listed == {
            "big": ["-machine", "q35", "-m", "4G,slots=8,maxmem=64G"],
            "small": ["-machine", "pc", "-m", "1G,slots=2,maxmem=4G"],
        }
        big = await connect(fleet_dir / "big.sock")
        assert await ok(big, "query-memory-size-summary") == {
            "base-memory": 4 * GiB,
            "plugged-memory": 0,
        }
        await ok(control, "quit")
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_bad_vm_at_start_is_reported(fleet_dir: Path) -> None:
    proc = start_fleet(fleet_dir, "--count", "1", "--template", "-m 1G,slots=300,maxmem=8G")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert err.endswith(b"memdevd fleet: vm0: unsupported amount of memory slots: 300\n")
    assert sorted(os.listdir(fleet_dir)) == []
