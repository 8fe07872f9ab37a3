"""Networking driven by ``qemu.qmp``'s QMPClient, as libvirt and scripts drive it.

A VM started with a netdev and a virtio-net NIC; then what a management
tool does with its network: netdev_add/netdev_del (errors with QEMU's
classes), a second NIC on a netdev that is taken, query-rx-filter,
set_link, info network.  No NIC_RX_FILTER_CHANGED ever arrives: no guest
driver changes a filter.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from protocol_harness import run_memdevd
from qemu.qmp import ExecuteError, QMPClient
from qemu.qmp.events import EventListener

ARGV = [
    "-machine", "q35", "-nodefaults", "-display", "none", "-S",
    "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,id=nic0",
    "-device", "pcie-root-port,id=rp1,chassis=1",
]  # fmt: skip


async def error_of(client: QMPClient, command: str, args: dict[str, object]) -> tuple[str, str]:
    with pytest.raises(ExecuteError) as info:
        await client.execute(command, args)
    return info.value.error_class, info.value.error.error.desc


@pytest.mark.parametrize("version", ["7.2", "10.0"])
async def test_a_tool_manages_the_network(workdir: Path, version: str) -> None:
    async with run_memdevd(workdir, ["-memdevd", f"version={version}", *ARGV]) as md:
        assert md.socket_path is not None
        probe = await md.connect()
        await probe.close()
        client = QMPClient(f"net-{version}")
        await client.connect(str(md.socket_path))
        try:
            listener = EventListener()
            with client.listen(listener):
                await client.execute("netdev_add", {"type": "user", "id": "n1"})
                assert await error_of(client, "netdev_add", {"type": "user", "id": "n1"}) == (
                    "GenericError",
                    "Duplicate ID 'n1'",
                )
                assert await error_of(client, "netdev_del", {"id": "nope"}) == (
                    "DeviceNotFound",
                    "Device 'nope' not found",
                )
                assert await error_of(
                    client, "device_add", {"driver": "e1000e", "netdev": "n0", "bus": "rp1"}
                ) == ("GenericError", "Property 'e1000e.netdev' can't take value 'n0', it's in use")
                await client.execute(
                    "device_add", {"driver": "e1000e", "netdev": "n1", "bus": "rp1", "id": "nic1"}
                )
                mac = await client.execute("qom-get", {"path": "nic1", "property": "mac"})
                assert mac == "52:54:00:12:34:57"
                (rx,) = await client.execute("query-rx-filter")
                assert (rx["name"], rx["main-mac"]) == ("nic0", "52:54:00:12:34:56")
                assert await error_of(client, "query-rx-filter", {"name": "nic1"}) == (
                    "GenericError",
                    "net client(nic1) doesn't support rx-filter querying",
                )
                await client.execute("set_link", {"name": "nic0", "up": False})
                assert await error_of(client, "set_link", {"name": "nope", "up": True}) == (
                    "DeviceNotFound",
                    "Device 'nope' not found",
                )
                await client.execute("netdev_del", {"id": "n1"})
                info = await client.execute(
                    "human-monitor-command", {"command-line": "info network"}
                )
                assert info == (
                    "nic0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56\r\n"
                    " \\ n0: index=0,type=user,net=10.0.2.0,restrict=off\r\n"
                    "nic1: index=0,type=nic,model=e1000e,macaddr=52:54:00:12:34:57\r\n"
                    " \\ n1: index=0,type=user,net=10.0.2.0,restrict=off\r\n"
                )
                await client.execute("cont")
                await asyncio.sleep(0.2)
                names = []
                while not listener.empty():
                    names.append((await listener.get()).get("event"))
                assert names == ["RESUME"]
        finally:
            await client.disconnect()
