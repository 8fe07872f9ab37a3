"""Displays through a real socket, as a management tool sees them.

memdevd started with ``-vnc`` (on a UNIX socket here, so that no TCP port
is needed) and driven by ``qemu.qmp``'s QMPClient: what ``query-vnc`` and
``query-vnc-servers`` say, the password commands and their per-release
errors, and a VNC client connecting (QEMU's RFB banner, ``VNC_CONNECTED``,
``VNC_DISCONNECTED``).  Then start-up failures as QEMU's: a VNC port in
use, a bad ``-vnc`` option, SPICE on 10.0's build, a missing audiodev id.
The same behaviours are compared with real QEMU in
tests/conformance/test_display_live.py.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from protocol_harness import run_memdevd
from qemu.qmp import ExecuteError, QMPClient

EVENT_TIMEOUT = 10.0


def argv(version: str, *extra: str) -> list[str]:
    return ["-memdevd", f"version={version}", "-machine", "q35", "-S", "-nodefaults", *extra]


@pytest.mark.parametrize("version", ["7.2", "8.2", "10.0"])
async def test_vnc_server_on_a_unix_socket(workdir: Path, version: str) -> None:
    vnc = workdir / "vnc.sock"
    async with run_memdevd(workdir, argv(version, "-vnc", f"unix:{vnc},password=on")) as md:
        probe = await md.connect()
        await probe.close()
        client = QMPClient("display-test")
        await client.connect(str(md.socket_path))
        try:
            info = await client.execute("query-vnc")
            assert info == {
                "enabled": True,
                "host": "",
                "service": str(vnc),
                "family": "unix",
                "auth": "vnc",
                "clients": [],
            }
            servers = await client.execute("query-vnc-servers")
            assert servers == [
                {
                    "id": "default",
                    "server": [
                        {
                            "host": "",
                            "service": str(vnc),
                            "family": "unix",
                            "websocket": False,
                            "auth": "vnc",
                        }
                    ],
                    "clients": [],
                    "auth": "vnc",
                }
            ]
            # Password auth: the password and its expiry can be set.
            await client.execute("change-vnc-password", {"password": "one"})
            await client.execute("set_password", {"protocol": "vnc", "password": "two"})
            await client.execute("expire_password", {"protocol": "vnc", "time": "+60"})
            with pytest.raises(ExecuteError) as err:
                await client.execute(
                    "set_password", {"protocol": "vnc", "password": "x", "connected": "fail"}
                )
            assert (
                err.value.error.error.desc
                == {
                    "7.2": "Invalid parameter 'connected'",
                    "8.2": "parameter 'connected' must be 'keep' when 'protocol' is 'vnc'",
                    "10.0": "parameter 'connected' must be 'keep' when 'protocol' is 'vnc'",
                }[version]
            )
            with pytest.raises(ExecuteError) as err:
                await client.execute("set_password", {"protocol": "spice", "password": "x"})
            assert (err.value.error.error.class_, err.value.error.error.desc) == (
                "DeviceNotActive",
                "SPICE is not in use",
            )

            # A VNC client: the banner, then it is listed until it hangs up.
            with client.listener(("VNC_CONNECTED", "VNC_DISCONNECTED")) as events:
                reader, writer = await asyncio.open_unix_connection(str(vnc))
                assert await asyncio.wait_for(reader.readexactly(12), EVENT_TIMEOUT) == (
                    b"RFB 003.008\n"
                )
                connected = await asyncio.wait_for(events.get(), EVENT_TIMEOUT)
                assert connected["event"] == "VNC_CONNECTED"
                peer = {"host": "", "service": "", "family": "unix", "websocket": False}
                assert connected["data"] == {
                    "server": {
                        "host": "",
                        "service": str(vnc),
                        "family": "unix",
                        "websocket": False,
                        "auth": "vnc",
                    },
                    "client": peer,
                }
                assert (await client.execute("query-vnc"))["clients"] == [peer]
                writer.close()
                gone = await asyncio.wait_for(events.get(), EVENT_TIMEOUT)
                assert gone["event"] == "VNC_DISCONNECTED"
                assert gone["data"]["client"] == peer
            assert (await client.execute("query-vnc"))["clients"] == []
        finally:
            await client.disconnect()


async def test_without_vnc_the_password_commands_fail(workdir: Path) -> None:
    async with run_memdevd(workdir, argv("10.0", "-display", "none")) as md:
        probe = await md.connect()
        await probe.close()
        client = QMPClient("display-test")
        await client.connect(str(md.socket_path))
        try:
            assert await client.execute("query-vnc") == {"enabled": False}
            assert await client.execute("query-display-options") == {"type": "none"}
            with pytest.raises(ExecuteError) as err:
                await client.execute("change-vnc-password", {"password": "x"})
            assert err.value.error.error.desc == "Could not set password"
            with pytest.raises(ExecuteError) as err:
                await client.execute("expire_password", {"protocol": "vnc", "time": "soon"})
            assert err.value.error.error.desc == "Parameter 'time' doesn't take value 'soon'"
        finally:
            await client.disconnect()


def _held_vnc_port() -> tuple[int, socket.socket]:
    for n in range(60, 99):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", 5900 + n))
            sock.listen(1)
        except OSError:
            sock.close()
            continue
        return n, sock
    raise RuntimeError("no free VNC port to hold")


async def test_a_vnc_port_in_use_fails_as_qemu(workdir: Path) -> None:
    n, holder = _held_vnc_port()
    with holder:
        async with run_memdevd(workdir, argv("10.0", "-vnc", f"127.0.0.1:{n}")) as md:
            assert await md.wait(20) == 1
    assert md.stderr() == (
        f"memdevd: -vnc 127.0.0.1:{n}: Failed to find an available port: Address already in use\n"
    )


@pytest.mark.parametrize(
    ("version", "extra", "stderr"),
    [
        (
            "10.0",
            ["-vnc", ":1,share=bogus"],
            "memdevd: -vnc :1,share=bogus: unknown vnc share= option\n",
        ),
        (
            "10.0",
            ["-spice", "port=5930"],
            "memdevd: -spice port=5930: There is no option group 'spice'\n"
            "memdevd: -spice port=5930: Perhaps you want to install "
            "qemu-system-modules-spice package?\n",
        ),
        ("10.0", ["-audiodev", "none"], "memdevd: -audiodev none: Parameter 'id' is missing\n"),
        (
            "10.0",
            ["-display", "gtk"],
            "memdevd: Display 'gtk' is not available. Perhaps you want to install "
            "qemu-system-gui package?\n",
        ),
        ("7.2", ["-vga", "bogus", "-display", "none"], "memdevd: unknown vga type: bogus\n"),
    ],
)
async def test_start_up_errors(workdir: Path, version: str, extra: list[str], stderr: str) -> None:
    async with run_memdevd(workdir, argv(version, *extra)) as md:
        assert await md.wait(20) == 1
    assert md.stderr() == stderr
