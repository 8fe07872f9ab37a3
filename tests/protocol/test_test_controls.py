"""The x-memdevd- test controls, driven through a real socket with qemu.qmp.

Reset, snapshots, the guest's behaviour (machine-wide and per device,
after N polls, without a virtio-mem driver), the virtual clock and fault
injection: each as a user's test would use it, asserting what a QMP client
sees.  Every daemon here runs ``-memdevd clock=virtual`` unless said
otherwise, so nothing waits for real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from protocol_harness import GiB, MemdevdProcess, run_memdevd, version_argv
from qemu.qmp import ExecuteError, QMPClient

VERSIONS = ("7.2", "10.0")

CONTROLS = [
    "x-memdevd-reset",
    "x-memdevd-snapshot",
    "x-memdevd-restore",
    "x-memdevd-query-snapshots",
    "x-memdevd-set-guest",
    "x-memdevd-query-guest",
    "x-memdevd-advance-clock",
    "x-memdevd-inject-fault",
    "x-memdevd-query-faults",
    "x-memdevd-clear-faults",
]


@contextlib.asynccontextmanager
async def daemon(
    workdir: Path, *settings: str, version: str = "10.0", extra: tuple[str, ...] = ()
) -> AsyncIterator[tuple[MemdevdProcess, QMPClient]]:
    argv = [*version_argv(version, "clock=virtual", *settings), *extra]
    async with run_memdevd(workdir, argv) as md:
        probe = await md.connect()
        await probe.close()
        client = QMPClient("controls")
        await client.connect(str(md.socket_path))
        try:
            yield md, client
        finally:
            await client.disconnect()


async def plug(client: QMPClient, index: int, size: int = GiB) -> None:
    await client.execute(
        "object-add", {"qom-type": "memory-backend-ram", "id": f"m{index}", "size": size}
    )
    await client.execute(
        "device_add", {"driver": "pc-dimm", "id": f"d{index}", "memdev": f"m{index}"}
    )


async def dimm_ids(client: QMPClient) -> list[str]:
    devices = await client.execute("query-memory-devices")
    assert isinstance(devices, list)
    return [d["data"]["id"] for d in devices]


async def state(client: QMPClient) -> tuple[Any, ...]:
    """What a management tool reads back about memory."""
    return (
        await client.execute("query-memory-devices"),
        await client.execute("query-memdev"),
        await client.execute("query-memory-size-summary"),
        await client.execute("query-status"),
        await client.execute("qom-list", {"path": "/objects"}),
    )


def drain(client: QMPClient) -> list[dict[str, Any]]:
    out = []
    while not client.events.empty():
        msg = client.events._queue.get_nowait()
        out.append({"event": msg["event"], "data": msg.get("data")})
    return out


async def expect_error(client: QMPClient, cmd: str, args: dict[str, Any], cls: str, desc: str):
    with pytest.raises(ExecuteError) as err:
        await client.execute(cmd, args)
    assert err.value.error_class == cls
    assert err.value.error.error.desc == desc


# --- listing ------------------------------------------------------------------------


async def test_controls_are_listed_in_query_commands(workdir: Path) -> None:
    async with daemon(workdir) as (_, client):
        names = [c["name"] for c in await client.execute("query-commands")]
        for name in CONTROLS:
            assert name in names


# --- reset and snapshots --------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_reset_returns_to_the_start_up_machine(workdir: Path, version: str) -> None:
    async with daemon(
        workdir,
        version=version,
        extra=("-object", "memory-backend-ram,id=cold,size=1G"),
    ) as (_, client):
        start = await state(client)
        await plug(client, 0)
        await client.execute("cont")
        await client.execute("x-memdevd-inject-fault", {"command": "query-name", "count": 0})
        assert await state(client) != start
        assert await client.execute("x-memdevd-reset") == {}
        assert await state(client) == start
        assert await client.execute("x-memdevd-query-faults") == []
        # The allocator starts over: the same plug lands at the same address.
        await plug(client, 0)
        devices = await client.execute("query-memory-devices")
        assert devices[0]["data"]["addr"] == 4 * GiB and devices[0]["data"]["slot"] == 0


async def test_snapshot_and_restore(workdir: Path) -> None:
    async with daemon(workdir) as (_, client):
        await plug(client, 0)
        saved = await state(client)
        assert await client.execute("x-memdevd-snapshot", {"name": "one-dimm"}) == {}
        await plug(client, 1)
        await client.execute("device_del", {"id": "d0"})
        await client.execute("cont")
        assert await client.execute("x-memdevd-query-snapshots") == [{"name": "one-dimm"}]
        for _ in range(2):  # a snapshot can be restored again and again
            assert await client.execute("x-memdevd-restore", {"name": "one-dimm"}) == {}
            assert await state(client) == saved
            await plug(client, 1)
            assert await dimm_ids(client) == ["d0", "d1"]
        await expect_error(
            client,
            "x-memdevd-restore",
            {"name": "nope"},
            "GenericError",
            "memdevd: no snapshot named 'nope'",
        )


async def test_restore_brings_back_pending_guest_reactions(workdir: Path) -> None:
    async with daemon(workdir, "guest=slow:5") as (_, client):
        await plug(client, 0)
        await client.execute("cont")
        await client.execute("x-memdevd-advance-clock", {"seconds": 5})
        await client.execute("device_del", {"id": "d0"})
        await client.execute("x-memdevd-snapshot")
        # The eject is 5 s away, before and after the restore.
        await client.execute("x-memdevd-advance-clock", {"seconds": 5})
        assert await dimm_ids(client) == []
        await client.execute("x-memdevd-restore")
        assert await dimm_ids(client) == ["d0"]
        await client.execute("x-memdevd-advance-clock", {"seconds": 4.9})
        assert await dimm_ids(client) == ["d0"]
        drain(client)
        await client.execute("x-memdevd-advance-clock", {"seconds": 0.1})
        assert await dimm_ids(client) == []
        events = [e["event"] for e in drain(client)]
        assert events == ["ACPI_DEVICE_OST", "DEVICE_DELETED", "ACPI_DEVICE_OST"]


# --- the guest ------------------------------------------------------------------------


async def test_guest_per_device(workdir: Path) -> None:
    async with daemon(workdir, "guest=cooperative") as (_, client):
        await plug(client, 0)
        await plug(client, 1)
        got = await client.execute("x-memdevd-set-guest", {"device": "d1", "guest": "refuse"})
        assert got == {"guest": "refuse", "virtio-mem-driver": True}
        assert await client.execute("x-memdevd-query-guest", {"device": "d1"}) == got
        assert await client.execute("x-memdevd-query-guest") == {
            "guest": "cooperative",
            "virtio-mem-driver": True,
            "devices": [{"device": "d1", **got}],
        }
        await client.execute("cont")
        await client.execute("device_del", {"id": "d0"})
        await client.execute("device_del", {"id": "d1"})
        await asyncio.sleep(0.05)
        assert await dimm_ids(client) == ["d1"]
        busy = [e["data"]["info"] for e in drain(client) if e["event"] == "ACPI_DEVICE_OST"]
        assert {
            "device": "d1",
            "slot": "1",
            "slot-type": "DIMM",
            "source": 3,
            "status": 0x82,
        } in busy
        # Back to the machine's behaviour: a new request succeeds.
        await client.execute("x-memdevd-set-guest", {"device": "d1", "guest": "default"})
        await client.execute("device_del", {"id": "d1"})
        await asyncio.sleep(0.05)
        assert await dimm_ids(client) == []


async def test_guest_acts_after_n_polls(workdir: Path) -> None:
    async with daemon(workdir, "guest=polls:3") as (_, client):
        await plug(client, 0)
        await client.execute("cont")
        # The insert notification is acknowledged within 3 commands too.
        for _ in range(3):
            await client.execute("query-status")
        await client.execute("device_del", {"id": "d0"})
        assert await dimm_ids(client) == ["d0"]  # poll 1
        assert await dimm_ids(client) == ["d0"]  # poll 2
        assert await dimm_ids(client) == []  # poll 3 sees the eject done
        # Test controls are not polls.
        await plug(client, 1)
        await client.execute("device_del", {"id": "d1"})
        for _ in range(5):
            await client.execute("x-memdevd-query-guest")
        assert await dimm_ids(client) == ["d1"]


async def test_guest_settings_errors(workdir: Path) -> None:
    async with daemon(workdir) as (_, client):
        before = await client.execute("x-memdevd-query-guest")
        await expect_error(
            client,
            "x-memdevd-set-guest",
            {"guest": "lazy"},
            "GenericError",
            "Parameter 'guest' does not accept value 'lazy'"
            " (none, cooperative, slow:SECONDS, polls:N, refuse)",
        )
        await expect_error(
            client,
            "x-memdevd-set-guest",
            {"vmem-rate": "fast"},
            "GenericError",
            "Parameter 'vmem-rate' does not accept value 'fast' (SIZE[/SECONDS])",
        )
        await expect_error(
            client,
            "x-memdevd-set-guest",
            {"guest": 1},
            "GenericError",
            "Invalid parameter type for 'guest', expected: string",
        )
        assert await client.execute("x-memdevd-query-guest") == before


async def test_virtio_mem_without_driver(workdir: Path) -> None:
    extra = (
        "-object",
        "memory-backend-ram,id=vm,size=4G",
        "-device",
        "virtio-mem-pci,id=vmem0,memdev=vm,requested-size=1G",
    )
    async with daemon(workdir, "guest=cooperative,vmem-driver=off", extra=extra) as (_, client):

        async def size() -> int:
            value = await client.execute("qom-get", {"path": "vmem0", "property": "size"})
            assert isinstance(value, int)
            return value

        await client.execute("cont")
        await client.execute("x-memdevd-advance-clock", {"seconds": 10})
        assert await size() == 0
        got = await client.execute(
            "x-memdevd-set-guest", {"device": "vmem0", "virtio-mem-driver": True}
        )
        assert got["virtio-mem-driver"] is True
        await client.execute("x-memdevd-advance-clock", {"seconds": 10})
        assert await size() == GiB


# --- the clock ------------------------------------------------------------------------


async def test_virtual_clock_moves_only_when_advanced(workdir: Path) -> None:
    async with daemon(workdir, "guest=slow:10") as (_, client):
        await plug(client, 0)
        await client.execute("cont")
        await client.execute("x-memdevd-advance-clock", {"seconds": 10})
        await client.execute("device_del", {"id": "d0"})
        await asyncio.sleep(0.2)
        assert await dimm_ids(client) == ["d0"]
        got = await client.execute("x-memdevd-advance-clock", {"ns": 9_900_000_000})
        assert got["clock"] == "virtual" and got["timers-run"] == 0
        assert await dimm_ids(client) == ["d0"]
        got = await client.execute("x-memdevd-advance-clock", {"seconds": 0.1})
        assert got["timers-run"] == 1
        assert await dimm_ids(client) == []
        await expect_error(
            client,
            "x-memdevd-advance-clock",
            {},
            "GenericError",
            "memdevd: give exactly one of 'ns' and 'seconds'",
        )
        await expect_error(
            client,
            "x-memdevd-advance-clock",
            {"ns": -1},
            "GenericError",
            "Parameter 'ns' expects a number from 0 to 1e18",
        )


async def test_real_clock_can_be_skipped_ahead(workdir: Path) -> None:
    argv = [*version_argv("10.0", "guest=slow:3600")]
    async with run_memdevd(workdir, argv) as md:
        probe = await md.connect()
        await probe.negotiate()
        for cmd in ("object-add", "device_add", "cont"):
            args = {
                "object-add": {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB},
                "device_add": {"driver": "pc-dimm", "id": "d0", "memdev": "m0"},
                "cont": {},
            }[cmd]
            await probe.ok(cmd, args)
        await probe.ok("x-memdevd-advance-clock", {"seconds": 3600})
        await probe.ok("device_del", {"id": "d0"})
        got = await probe.ok("x-memdevd-advance-clock", {"seconds": 3600})
        assert got["clock"] == "real" and got["timers-run"] == 1
        assert await probe.ok("query-memory-devices") == []
        await probe.close()


# --- faults ---------------------------------------------------------------------------


async def test_injected_error_leaves_state_unchanged(workdir: Path) -> None:
    async with daemon(workdir) as (_, client):
        await client.execute(
            "object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB}
        )
        got = await client.execute(
            "x-memdevd-inject-fault",
            {
                "command": "device_add",
                "arguments": {"driver": "pc-dimm"},
                "class": "DeviceNotActive",
                "desc": "No hotplug for you",
            },
        )
        assert got == {"id": 1}
        listed = await client.execute("x-memdevd-query-faults")
        assert listed == [
            {
                "id": 1,
                "command": "device_add",
                "action": "error",
                "class": "DeviceNotActive",
                "desc": "No hotplug for you",
                "arguments": {"driver": "pc-dimm"},
                "count": 1,
                "fired": 0,
            }
        ]
        before = await state(client)
        args = {"driver": "pc-dimm", "id": "d0", "memdev": "m0"}
        await expect_error(client, "device_add", args, "DeviceNotActive", "No hotplug for you")
        assert await state(client) == before
        # Fired once: the retry succeeds.
        assert await client.execute("device_add", args) == {}
        assert await client.execute("x-memdevd-query-faults") == []


async def test_fault_count_and_clear(workdir: Path) -> None:
    async with daemon(workdir) as (_, client):
        await client.execute("x-memdevd-inject-fault", {"command": "*", "count": 0})
        for cmd in ("query-status", "query-memdev", "query-version"):
            await expect_error(client, cmd, {}, "GenericError", "memdevd: injected fault")
        # The controls themselves are never hit.
        listed = await client.execute("x-memdevd-query-faults")
        assert listed[0]["fired"] == 3 and listed[0]["count"] == 0
        await client.execute("x-memdevd-clear-faults")
        assert (await client.execute("query-status"))["status"] == "prelaunch"


async def test_delayed_reply(workdir: Path) -> None:
    async with daemon(workdir) as (_, client):
        await client.execute(
            "x-memdevd-inject-fault", {"command": "query-status", "action": "delay", "delay": 0.5}
        )
        started = time.monotonic()
        assert (await client.execute("query-status"))["status"] == "prelaunch"
        assert time.monotonic() - started >= 0.45
        await expect_error(
            client,
            "x-memdevd-inject-fault",
            {"command": "query-status", "action": "delay"},
            "GenericError",
            "Parameter 'delay' is missing",
        )


async def test_dropped_connection_mid_reply(workdir: Path) -> None:
    async with daemon(workdir) as (md, client):
        await client.execute(
            "object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB}
        )
        await client.execute("x-memdevd-inject-fault", {"command": "device_add", "action": "drop"})
        await client.disconnect()
        raw = await md.connect()
        await raw.negotiate()
        await raw.send(
            {
                "execute": "device_add",
                "arguments": {"driver": "pc-dimm", "id": "d0", "memdev": "m0"},
            }
        )
        partial = await raw.read_to_eof()
        assert partial and not partial.endswith(b"\n")
        assert b'{"return": {}}'.startswith(partial)
        # The command took effect before the connection died.
        again = await md.connect()
        await again.negotiate()
        devices = await again.ok("query-memory-devices")
        assert [d["data"]["id"] for d in devices] == ["d0"]
        await again.close()


async def test_fault_from_the_command_line(workdir: Path) -> None:
    async with daemon(workdir, extra=("-memdevd", "fault=device_add:error:host is busy")) as (
        _,
        client,
    ):
        await client.execute(
            "object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB}
        )
        args = {"driver": "pc-dimm", "id": "d0", "memdev": "m0"}
        await expect_error(client, "device_add", args, "GenericError", "host is busy")
        assert await client.execute("device_add", args) == {}


# --- introspection --------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_query_qmp_schema_over_the_socket(workdir: Path, version: str) -> None:
    import json

    root = Path(__file__).resolve().parents[2]
    committed = json.loads((root / "schemas" / f"qmp-schema-{version}.json").read_text())
    async with daemon(workdir, version=version) as (_, client):
        schema = await client.execute("query-qmp-schema")
        assert schema == committed
        commands = {c["name"] for c in await client.execute("query-commands")}
        assert {e["name"] for e in schema if e["meta-type"] == "command"} == commands
        assert set(CONTROLS) <= commands
