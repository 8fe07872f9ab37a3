"""Run memdevd as a user does (a subprocess, a real socket) and talk to it.

Owns starting ``python -m memdevd ARGS`` in a private directory with its
stderr in a file (an unread pipe could stall it), waiting until its socket
accepts, and a small raw-bytes QMP client (:class:`RawQMP`) that keeps the
exact bytes of every line it reads, so tests can check framing as well as
content.  Nothing here knows the answers memdevd should give: the tests do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The command line of the brief: QEMU 7.2's pc machine, paused, no devices.
PC_ARGV: tuple[str, ...] = (
    "-machine",
    "pc",
    "-m",
    "1G,slots=4,maxmem=8G",
    "-S",
    "-nodefaults",
    "-display",
    "none",
)

# Generous: a loaded CI machine may take a while to start a Python process.
START_TIMEOUT = 20.0
REPLY_TIMEOUT = 10.0
# How long to listen to show that something does *not* arrive.
SETTLE = 0.3

GiB = 1 << 30


def memdevd_command(*args: str) -> list[str]:
    """``memdevd ARGS`` as the test venv runs it."""
    return [sys.executable, "-m", "memdevd", *args]


def version_argv(version: str, *settings: str) -> list[str]:
    """``-memdevd version=V[,settings]`` plus :data:`PC_ARGV`."""
    memdevd = ",".join([f"version={version}", *settings])
    return ["-memdevd", memdevd, *PC_ARGV]


def qmp_unix(path: str | os.PathLike[str]) -> list[str]:
    return ["-qmp", f"unix:{os.fspath(path)},server=on,wait=off"]


def mask_event(message: Mapping[str, Any]) -> dict[str, Any]:
    """An event without its timestamp (after checking the timestamp's shape)."""
    stamp = message["timestamp"]
    assert set(stamp) == {"seconds", "microseconds"}
    assert isinstance(stamp["seconds"], int) and 0 <= stamp["microseconds"] < 1_000_000
    return {k: v for k, v in message.items() if k != "timestamp"}


async def open_unix(
    path: str | os.PathLike[str], timeout: float = START_TIMEOUT
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, retrying while the socket file is absent or not yet listening."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await asyncio.open_unix_connection(os.fspath(path), limit=16 << 20)
        except (FileNotFoundError, ConnectionRefusedError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.02)


@dataclass
class RawQMP:
    """One QMP connection spoken in raw bytes; every line read is kept."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    greeting: dict[str, Any] | None = None
    lines: list[bytes] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(
        cls, path: str | os.PathLike[str], *, greet: bool = True, timeout: float = START_TIMEOUT
    ) -> RawQMP:
        reader, writer = await open_unix(path, timeout)
        client = cls(reader, writer)
        if greet:
            client.greeting = await client.recv(timeout)
            assert "QMP" in client.greeting, client.greeting
        return client

    @classmethod
    async def connect_tcp(cls, host: str, port: int, timeout: float = START_TIMEOUT) -> RawQMP:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        client = cls(reader, writer)
        client.greeting = await client.recv(timeout)
        assert "QMP" in client.greeting, client.greeting
        return client

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, message: Mapping[str, Any]) -> None:
        await self.write(json.dumps(message).encode())

    async def recv_line(self, timeout: float = REPLY_TIMEOUT) -> bytes:
        """The next line, with its ``\\r\\n``; IncompleteReadError at EOF."""
        line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), timeout)
        self.lines.append(line)
        return line

    async def recv(self, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        message = json.loads(await self.recv_line(timeout))
        assert isinstance(message, dict), message
        return message

    async def reply(self, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        """The next reply; events read on the way are kept in :attr:`events`."""
        while True:
            message = await self.recv(timeout)
            if "event" in message:
                self.events.append(message)
                continue
            return message

    async def execute(
        self, command: str, arguments: Mapping[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"execute": command, **extra}
        if arguments is not None:
            request["arguments"] = dict(arguments)
        await self.send(request)
        return await self.reply()

    async def ok(self, command: str, arguments: Mapping[str, Any] | None = None) -> Any:
        """Execute and return the ``return`` member (the reply must be a success)."""
        rsp = await self.execute(command, arguments)
        assert "return" in rsp, rsp
        return rsp["return"]

    async def negotiate(self) -> None:
        assert await self.execute("qmp_capabilities") == {"return": {}}

    async def event(self, name: str, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        """The next event called ``name`` (kept ones first); replies are not expected."""
        for i, ev in enumerate(self.events):
            if ev["event"] == name:
                return self.events.pop(i)
        while True:
            message = await self.recv(timeout)
            assert "event" in message, f"unexpected reply while waiting for {name}: {message}"
            if message["event"] == name:
                return message
            self.events.append(message)

    async def nothing_arrives(self, window: float = SETTLE) -> None:
        """Assert that no byte arrives within ``window`` seconds."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), window)
        except TimeoutError:
            return
        rest = b""
        with contextlib.suppress(asyncio.TimeoutError):
            rest = await asyncio.wait_for(self.reader.read(65536), 0.1)
        raise AssertionError(f"expected silence, got {data + rest!r}")

    async def read_to_eof(self, timeout: float = REPLY_TIMEOUT) -> bytes:
        return await asyncio.wait_for(self.reader.read(), timeout)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


@dataclass
class MemdevdProcess:
    """A running ``memdevd``; see :func:`run_memdevd`."""

    process: asyncio.subprocess.Process
    workdir: Path
    socket_path: Path | None
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    async def connect(self, *, greet: bool = True, timeout: float = START_TIMEOUT) -> RawQMP:
        assert self.socket_path is not None
        try:
            return await RawQMP.connect(self.socket_path, greet=greet, timeout=timeout)
        except (TimeoutError, FileNotFoundError, ConnectionRefusedError) as exc:
            raise AssertionError(f"memdevd does not answer: {exc!r}\n{self.stderr()}") from exc

    async def wait(self, timeout: float = REPLY_TIMEOUT) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""


@contextlib.asynccontextmanager
async def run_memdevd(
    workdir: Path,
    argv: Sequence[str],
    *,
    socket_name: str | None = "qmp.sock",
    env: Mapping[str, str] | None = None,
    umask: int | None = None,
) -> AsyncIterator[MemdevdProcess]:
    """Start ``memdevd ARGV`` in ``workdir``; with ``socket_name`` a ``-qmp`` is added.

    ``umask`` is set in the child before it starts.  The process is killed on
    exit if the test left it running.
    """
    socket_path = workdir / socket_name if socket_name is not None else None
    args = list(argv)
    if socket_path is not None:
        args += qmp_unix(socket_path)
    stderr_path = workdir / "memdevd.stderr"

    def set_umask() -> None:
        assert umask is not None
        os.umask(umask)

    with open(stderr_path, "wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *memdevd_command(*args),
            cwd=workdir,
            env=dict(os.environ if env is None else env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=None if umask is None else set_umask,
        )
    try:
        yield MemdevdProcess(process, workdir, socket_path, stderr_path)
    finally:
        if process.returncode is None:
            process.kill()
        with contextlib.suppress(ProcessLookupError):
            await process.wait()


def listening_tcp_ports(pid: int) -> list[tuple[str, int]]:
    """(address, port) of the IPv4 TCP sockets ``pid`` listens on, from /proc."""
    inodes: set[str] = set()
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            target = os.readlink(os.path.join(fd_dir, name))
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    out: list[tuple[str, int]] = []
    with open(f"/proc/{pid}/net/tcp", encoding="ascii") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: TCP_LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            addr = socket.inet_ntoa(bytes.fromhex(addr_hex)[::-1])
            out.append((addr, int(port_hex, 16)))
    return out


def free_tcp_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie nobody reaps counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


async def wait_gone(pid: int, timeout: float = REPLY_TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not process_gone(pid):
        if loop.time() > deadline:
            raise AssertionError(f"pid {pid} still running after {timeout}s")
        await asyncio.sleep(0.02)


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
