"""Live: chardevs a client connects to, QEMU vs memdevd, byte for byte.

* A readline monitor (``-monitor unix:...,server=on,wait=off``): the banner,
  the readline echo and redraw sequences, line editing, history and the
  answers, compared as raw bytes, in two successive connections.
* A socket chardev server: ``query-chardev`` and ``connected`` before a
  client, while one is connected and after it left (paths normalised: each
  emulator gets its own directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from qemu.qmp import QMPClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, qemu_binary

pytestmark = pytest.mark.live_qemu

COMMON = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg", "-machine", "pc"]
REPO = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def emulator(impl: str, version: str, argv: list[str]) -> AsyncIterator[Path]:
    """Run QEMU or memdevd with ``argv`` (``@DIR@`` = a fresh directory)."""
    with tempfile.TemporaryDirectory(prefix="memdevd-chr-") as tmp:
        args = [a.replace("@DIR@", tmp) for a in argv]
        qmp = os.path.join(tmp, "qmp.sock")
        args += ["-qmp", f"unix:{qmp},server=on,wait=off"]
        if impl == "qemu":
            binary = qemu_binary(version)
            if binary is None:
                pytest.skip(f"no QEMU {version}")
            cmd = [binary, *COMMON, *args]
        else:
            cmd = [sys.executable, "-m", "memdevd", "-memdevd", f"version={version}"]
            cmd += [*COMMON, *args]
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                if os.path.exists(qmp):
                    break
                await asyncio.sleep(0.05)
            yield Path(tmp)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def _read_until_prompt(reader: asyncio.StreamReader) -> bytes:
    """What the monitor sends until it waits for input again."""
    out = b""
    while True:
        # Until a prompt has come and nothing follows it for a moment.
        idle = 0.3 if out.endswith(b"(qemu) ") else 5.0
        try:
            chunk = await asyncio.wait_for(reader.read(65536), idle)
        except TimeoutError:
            return out
        if not chunk:
            return out
        out += chunk


# Each chunk is sent at once; what comes back is recorded.
TYPED = [
    b"info status\n",
    b"info nam\x7fme\r\n",
    b"help info name\n",
    b"\x1b[A\x1b[A\n",
    b"info kvmx\x1b[D\x1b[C\x08\x01\x05\n",
    b"info status x\x17\n",
    b"info kvm\x15\n",
    b"\x10\x10\x0e\n",
]


async def _monitor_transcript(sock: Path) -> list[bytes]:
    out = []
    for _ in range(2):
        reader, writer = await asyncio.open_unix_connection(str(sock))
        out.append(await _read_until_prompt(reader))
        for chunk in TYPED:
            writer.write(chunk)
            await writer.drain()
            out.append(await _read_until_prompt(reader))
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        await asyncio.sleep(0.2)
    return out


@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_readline_monitor_bytes(version: str) -> None:
    argv = ["-monitor", "unix:@DIR@/hmp.sock,server=on,wait=off"]
    transcripts = []
    for impl in ("qemu", "memdevd"):
        async with emulator(impl, version, argv) as tmp:
            transcripts.append(await _monitor_transcript(tmp / "hmp.sock"))
    # Compared whole: how QEMU splits its writes is not the point.  (7.2
    # has no ^U: it runs "info kvm" where 10.0 runs an empty line.)
    qemu, ours = (b"".join(t) for t in transcripts)
    assert qemu.startswith(f"QEMU {version}".encode())
    assert qemu.count(b"monitor - type 'help' for more information") == 2
    assert ours == qemu


async def _socket_states(tmp: Path) -> list[Any]:
    client = QMPClient()
    await client.connect(str(tmp / "qmp.sock"))

    async def state() -> Any:
        chardevs = await client.execute("query-chardev")
        connected = await client.execute(
            "qom-get", {"path": "/chardevs/s", "property": "connected"}
        )
        mine = [c for c in chardevs if c["label"] == "s"]  # type: ignore[union-attr]
        return json.loads(json.dumps([mine, connected]).replace(str(tmp), "@DIR@"))

    states = [await state()]
    _reader, writer = await asyncio.open_unix_connection(str(tmp / "s.sock"))
    await asyncio.sleep(0.3)
    states.append(await state())
    writer.write(b"bytes a guest would read\n")
    await writer.drain()
    states.append(await state())
    writer.close()
    await asyncio.sleep(0.3)
    states.append(await state())
    await client.disconnect()
    return states


@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_socket_server_connection_states(version: str) -> None:
    argv = [
        "-chardev",
        "socket,id=s,path=@DIR@/s.sock,server=on,wait=off",
        "-device",
        "isa-serial,chardev=s",
    ]
    results = []
    for impl in ("qemu", "memdevd"):
        async with emulator(impl, version, argv) as tmp:
            results.append(await _socket_states(tmp))
    assert results[1] == results[0]
    assert results[0][1][1] is True


@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_chardev_help(version: str) -> None:
    """``-chardev help``: the backend list on stdout, exit 0."""
    outputs = []
    for impl in ("qemu", "memdevd"):
        if impl == "qemu":
            binary = qemu_binary(version)
            if binary is None:
                pytest.skip(f"no QEMU {version}")
            cmd = [binary]
        else:
            cmd = [sys.executable, "-m", "memdevd", "-memdevd", f"version={version}"]
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            "-nodefaults",
            "-display",
            "none",
            "-chardev",
            "help",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        outputs.append((proc.returncode, out, err))
    assert outputs[1] == outputs[0]
    assert outputs[0][1].startswith(b"Available chardev backend types: \n  ")
