"""memdevd driven by ``qemu.qmp``'s QMPClient, unchanged, as a user drives it.

One hot-plug flow per emulated release (greeting, object-add, device_add
pc-dimm, query-memory-devices, the cont/stop events), then what each
simulated guest does with a DIMM ``device_del``: ``cooperative`` ejects it
(ACPI_DEVICE_OST, DEVICE_DELETED, ACPI_DEVICE_OST) so the backend can be
deleted, ``refuse`` keeps it (ACPI_DEVICE_OST 0x84 then 0x82), and the
default guest (firmware only) does nothing at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from protocol_harness import SETTLE, GiB, run_memdevd, version_argv
from qemu.qmp import ExecuteError, QMPClient
from qemu.qmp.events import EventListener
from qemu.qmp.message import Message

VERSIONS = ("7.2", "8.2", "10.0", "11.1")
# The micro version and distribution build each release reports.
GREETING_VERSION = {"7.2": (7, 2, 22), "8.2": (8, 2, 2), "10.0": (10, 0, 2), "11.1": (11, 1, 3)}
EVENT_TIMEOUT = 10.0

DIMM_D0 = {
    "type": "dimm",
    "data": {
        "memdev": "/objects/m0",
        "hotplugged": True,
        "addr": 4 * GiB,  # pc, 1G of RAM: device memory starts at 4 GiB
        "hotpluggable": True,
        "size": GiB,
        "slot": 0,
        "node": 0,
        "id": "d0",
    },
}
OST_INSERTED = {"device": "d0", "source": 1, "status": 0, "slot": "0", "slot-type": "DIMM"}
OST_EJECTING = {"device": "d0", "source": 3, "status": 0x84, "slot": "0", "slot-type": "DIMM"}
OST_BUSY = {"device": "d0", "source": 3, "status": 0x82, "slot": "0", "slot-type": "DIMM"}
OST_EJECTED = {"source": 3, "status": 0, "slot": "0", "slot-type": "DIMM"}


@contextlib.asynccontextmanager
async def connected(workdir: Path, version: str, *settings: str) -> AsyncIterator[QMPClient]:
    """Start memdevd and connect a QMPClient (which negotiates on its own)."""
    async with run_memdevd(workdir, version_argv(version, *settings)) as md:
        assert md.socket_path is not None
        # QMPClient does not retry while memdevd starts: wait until it greets.
        probe = await md.connect()
        await probe.close()
        client = QMPClient(f"memdevd-{version}")
        await client.connect(str(md.socket_path))
        try:
            yield client
        finally:
            await client.disconnect()


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def next_event(listener: EventListener) -> Message:
    return await asyncio.wait_for(listener.get(), EVENT_TIMEOUT)


async def hotplug_d0(client: QMPClient) -> None:
    await client.execute("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB})
    await client.execute("device_add", {"driver": "pc-dimm", "id": "d0", "memdev": "m0"})


async def run_and_wait_inserted(client: QMPClient) -> None:
    """``cont``: RESUME, then a cooperative guest acknowledges the hot-plugged DIMM."""
    with client.listener() as listener:
        assert await client.execute("cont") == {}
        assert (await next_event(listener))["event"] == "RESUME"
        inserted = await next_event(listener)
        assert inserted["event"] == "ACPI_DEVICE_OST"
        assert inserted["data"] == {"info": OST_INSERTED}


async def test_hotplug_flow(workdir: Path, version: str) -> None:
    async with connected(workdir, version) as client:
        assert client.greeting is not None
        greeting = client.greeting.QMP
        version_info: dict[str, Any] = dict(greeting.version)
        qemu = version_info["qemu"]
        assert (qemu["major"], qemu["minor"], qemu["micro"]) == GREETING_VERSION[version]
        assert "memdevd" in version_info["package"]
        assert list(greeting.capabilities) == ["oob"]
        info = await client.execute("query-version")
        assert isinstance(info, dict)
        assert info == version_info

        await hotplug_d0(client)
        assert await client.execute("query-memory-devices") == [DIMM_D0]
        summary = await client.execute("query-memory-size-summary")
        assert summary == {"base-memory": GiB, "plugged-memory": GiB}

        # The client's default listener sees every event.
        client.events.clear()
        assert await client.execute("cont") == {}
        assert (await next_event(client.events))["event"] == "RESUME"
        status = await client.execute("query-status")
        assert isinstance(status, dict)
        assert status["running"] is True and status["status"] == "running"
        assert await client.execute("stop") == {}
        stop = await next_event(client.events)
        assert stop["event"] == "STOP" and "data" not in stop
        stamp = stop["timestamp"]
        assert isinstance(stamp, dict) and isinstance(stamp["seconds"], int)

        with pytest.raises(ExecuteError) as err:
            await client.execute("device_add", {"driver": "pc-dimm", "id": "d1", "memdev": "m0"})
        assert err.value.error_class == "GenericError"
        assert err.value.error.error.desc == "can't use already busy memdev: m0"


async def test_cooperative_guest_ejects(workdir: Path, version: str) -> None:
    async with connected(workdir, version, "guest=cooperative") as client:
        await hotplug_d0(client)
        await run_and_wait_inserted(client)
        with client.listener(("ACPI_DEVICE_OST", "DEVICE_DELETED")) as listener:
            assert await client.execute("device_del", {"id": "d0"}) == {}
            seen: list[tuple[object, object]] = []
            for _ in range(3):
                ev = await next_event(listener)
                seen.append((ev["event"], ev["data"]))
        assert seen == [
            ("ACPI_DEVICE_OST", {"info": OST_EJECTING}),
            ("DEVICE_DELETED", {"device": "d0", "path": "/machine/peripheral/d0"}),
            ("ACPI_DEVICE_OST", {"info": OST_EJECTED}),
        ]
        assert await client.execute("query-memory-devices") == []
        # The DIMM is gone, so its backend is free to be deleted.
        assert await client.execute("object-del", {"id": "m0"}) == {}
        memdevs = await client.execute("query-memdev")
        assert isinstance(memdevs, list)
        assert "m0" not in [m.get("id") for m in memdevs]
        with pytest.raises(ExecuteError) as err:
            await client.execute("qom-list", {"path": "/objects/m0"})
        assert err.value.error.error.desc == "Device '/objects/m0' not found"


async def test_refusing_guest_keeps_dimm(workdir: Path, version: str) -> None:
    async with connected(workdir, version, "guest=refuse") as client:
        await hotplug_d0(client)
        await run_and_wait_inserted(client)
        with client.listener() as listener:
            assert await client.execute("device_del", {"id": "d0"}) == {}
            first = await next_event(listener)
            second = await next_event(listener)
            assert (first["event"], first["data"]) == ("ACPI_DEVICE_OST", {"info": OST_EJECTING})
            assert (second["event"], second["data"]) == ("ACPI_DEVICE_OST", {"info": OST_BUSY})
            await asyncio.sleep(SETTLE)
            assert listener.empty(), listener.clear()
        assert await client.execute("query-memory-devices") == [DIMM_D0]
        with pytest.raises(ExecuteError) as err:
            await client.execute("object-del", {"id": "m0"})
        assert err.value.error.error.desc == (
            # 11.1: backends/hostmem.c host_memory_backend_prepare_delete()
            "Cannot delete host memory backend 'm0' which is mapped"
            if version == "11.1"
            else "object 'm0' is in use, can not be deleted"
        )


async def test_default_guest_never_answers(workdir: Path, version: str) -> None:
    async with connected(workdir, version) as client:
        await hotplug_d0(client)
        with client.listener() as listener:
            assert await client.execute("cont") == {}
            assert (await next_event(listener))["event"] == "RESUME"
            assert await client.execute("device_del", {"id": "d0"}) == {}
            await asyncio.sleep(SETTLE)
            assert listener.empty(), listener.clear()
        assert await client.execute("query-memory-devices") == [DIMM_D0]
