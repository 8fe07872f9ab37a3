"""Use memdevd from a test suite: a pytest plugin and plain context managers.

Installed with memdevd (entry point ``pytest11``), so a project that has
memdevd installed gets these fixtures without any conftest.py:

``memdevd``
    A running daemon on a private socket, started for the test and stopped
    after it.  ``memdevd.socket`` is the QMP socket path, ``memdevd.cmd(...)``
    runs a command synchronously (no asyncio needed), ``memdevd.events()``
    returns the events received so far, ``memdevd.log()`` what the daemon
    printed (see ``-memdevd log-level=``).  Configure it per test with
    ``@pytest.mark.memdevd("-machine", "q35", "-m", "2G,slots=4,maxmem=16G",
    version="7.2", guest="cooperative")``.
``memdevd_factory``
    ``memdevd_factory(*argv, version=..., guest=...)`` starts more daemons;
    all are stopped after the test.
``--memdevd-fleet`` (or ``memdevd_fleet = true`` in the ini file)
    Both fixtures then give VMs of one ``memdevd fleet`` process started
    for the session (``memdevd_fleet`` fixture): ~1 ms per test instead of
    a process each (~0.1 s until it answers).  Same API; the VMs share the
    process, so its log and what the fleet refuses (``-daemonize``,
    ``-pidfile``, ``-qmp``, ``-chardev``, ``-mon``) are shared too.

Outside pytest (or with pytest-asyncio), the same daemon as a context
manager::

    with MemdevdProcess("-machine", "pc", "-m", "1G,slots=4,maxmem=8G") as vm:
        vm.cmd("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 1 << 30})

    async with MemdevdProcess(...) as vm:           # a qemu.qmp QMPClient
        client = await vm.connect()
        await client.execute("query-memory-devices")
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest
    from qemu.qmp import QMPClient

DEFAULT_ARGV = ("-machine", "q35", "-m", "1G,slots=16,maxmem=64G")
START_TIMEOUT = 15.0


def rss_kib(pid: int) -> int:
    """The resident set size of process ``pid`` in KiB (``VmRSS`` in
    ``/proc/PID/status``), 0 if it has none (a zombie).  Linux only.

    For memory checks on a daemon: the soak tool, the benchmarks and the
    hostile-client tests sample memdevd's memory with it.
    """
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class MemdevdError(Exception):
    """A QMP error reply: ``error_class`` and ``desc`` as QEMU sends them."""

    def __init__(self, error_class: str, desc: str) -> None:
        super().__init__(f"{error_class}: {desc}")
        self.error_class = error_class
        self.desc = desc


class QMPConnection:
    """A synchronous QMP client on a UNIX socket: greeting, negotiation,
    commands and the events that arrive meanwhile.

    ``MemdevdProcess`` talks to its daemon with it, and ``memdevd map``
    reads any QMP socket (a real QEMU's too) with it.
    """

    def __init__(self, path: str, timeout: float = START_TIMEOUT) -> None:
        self._timeout = timeout
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(path)
        except OSError:
            self._sock.close()
            raise
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._next_id = 0
        self.greeting = self._read_message()
        self.cmd("qmp_capabilities")

    def _read_message(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("the QMP server closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def cmd(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one command; return its ``return`` value or raise MemdevdError."""
        self._next_id += 1
        request: dict[str, Any] = {"execute": command, "id": self._next_id}
        if arguments is not None:
            request["arguments"] = arguments
        self._sock.sendall(json.dumps(request).encode())
        while True:
            message = self._read_message()
            if "event" in message:
                self._events.append(message)
                continue
            if message.get("id") != self._next_id:
                continue
            if "error" in message:
                raise MemdevdError(message["error"]["class"], message["error"]["desc"])
            return message["return"]

    def events(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """Events received so far (waiting up to ``wait`` seconds for more)."""
        deadline = time.monotonic() + wait
        self._sock.setblocking(False)
        try:
            while True:
                try:
                    chunk = self._sock.recv(65536)
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.01)
                    continue
                if not chunk:
                    break
                self._buffer += chunk
        finally:
            self._sock.setblocking(True)
            self._sock.settimeout(self._timeout)
        while b"\n" in self._buffer:
            message = self._read_message()
            if "event" in message:
                self._events.append(message)
        out, self._events = self._events, []
        return out

    def close(self) -> None:
        self._sock.close()


def _spawn(cmd: Sequence[str], log_path: str) -> subprocess.Popen[bytes]:
    # Output to a file, not a pipe: nobody reads a pipe while a test runs,
    # and a daemon that logs more than the pipe holds would block on it.
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def _connect_when_listening(proc: subprocess.Popen[bytes], path: str) -> QMPConnection | None:
    """A connection to ``path`` once the daemon listens there; None if
    ``proc`` exited or START_TIMEOUT passed first.

    The socket file exists from bind(), before listen() (QEMU's order too):
    a connection refused in between is retried, not reported.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            return QMPConnection(path)
        except (FileNotFoundError, ConnectionRefusedError):
            if proc.poll() is not None or time.monotonic() > deadline:
                return None
            time.sleep(0.01)


def _read_log(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _terminate(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as a user would (SIGKILL after 10 s); the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class MemdevdFleet:
    """One ``memdevd fleet`` process whose VMs stand in for daemons.

    Starting a daemon costs a Python process, ~0.1 s until it answers its
    first command; a VM added to a running fleet answers in ~1 ms.  Pass the
    fleet to :class:`MemdevdProcess` (``MemdevdProcess(*argv, fleet=f)``):
    the same API, each VM on its own socket with its own command line
    (``-memdevd version=...`` included), taken out of the fleet by
    ``stop()``.  A fleet refuses what a process-wide option would share:
    ``-daemonize``, ``-pidfile``, ``-qmp``, ``-chardev``, ``-mon``.
    """

    def __init__(self, executable: Sequence[str] | None = None) -> None:
        self.executable = list(executable) if executable else [sys.executable, "-m", "memdevd"]
        self.dir = ""
        self.log_path = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._control: QMPConnection | None = None
        self._count = 0

    def start(self) -> MemdevdFleet:
        self.dir = tempfile.mkdtemp(prefix="memdevd-fleet-")
        control = os.path.join(self.dir, "fleet.sock")
        self.log_path = os.path.join(self.dir, "fleet.log")
        self.proc = _spawn([*self.executable, "fleet", "--dir", self.dir], self.log_path)
        self._control = _connect_when_listening(self.proc, control)
        if self._control is None:
            err = self.log()
            self.stop()
            raise RuntimeError(f"memdevd fleet did not start: {err.strip()}")
        return self

    def add(self, argv: Sequence[str]) -> tuple[str, str]:
        """A new VM with this command line: its name and QMP socket path."""
        assert self._control is not None, "not started"
        self._count += 1
        name = f"vm{self._count}"
        try:
            vm = self._control.cmd("x-memdevd-fleet-add", {"name": name, "argv": list(argv)})
        except MemdevdError as err:
            # As a daemon that fails to start: the command line's error.
            raise RuntimeError(f"memdevd refused the command line: {err.desc}") from None
        return name, str(vm["socket"])

    def remove(self, name: str) -> None:
        """Take a VM out of the fleet (nothing if it already quit)."""
        if self._control is not None:
            with contextlib.suppress(MemdevdError):
                self._control.cmd("x-memdevd-fleet-remove", {"name": name})

    def vms(self) -> list[str]:
        """The names of the fleet's VMs."""
        assert self._control is not None, "not started"
        return [vm["name"] for vm in self._control.cmd("x-memdevd-fleet-list")]

    def log(self) -> str:
        """What the fleet process has printed so far."""
        return _read_log(self.log_path)

    def stop(self) -> int | None:
        """Stop the fleet process (SIGTERM: every VM shuts down) and clean up."""
        if self._control is not None:
            self._control.close()
            self._control = None
        status = _terminate(self.proc) if self.proc is not None else None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = ""
        return status

    def __enter__(self) -> MemdevdFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MemdevdProcess:
    """A memdevd daemon in a child process, on a private UNIX socket
    (or, with ``fleet=``, a VM of a running :class:`MemdevdFleet`)."""

    def __init__(
        self,
        *argv: str,
        version: str | None = None,
        guest: str | None = None,
        memdevd_options: Sequence[str] = (),
        executable: Sequence[str] | None = None,
        fleet: MemdevdFleet | None = None,
    ) -> None:
        self.argv = list(argv) if argv else list(DEFAULT_ARGV)
        settings = []
        if version:
            settings.append(f"version={version}")
        if guest:
            settings.append(f"guest={guest}")
        settings.extend(memdevd_options)
        if settings:
            self.argv += ["-memdevd", ",".join(settings)]
        self.executable = list(executable) if executable else [sys.executable, "-m", "memdevd"]
        self._dir: str | None = None
        self.socket = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._conn: QMPConnection | None = None
        self.log_path = ""
        # A VM of this fleet process instead of a process of its own.
        self.fleet = fleet
        self.name = ""

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> MemdevdProcess:
        if self.fleet is not None:
            self.name, self.socket = self.fleet.add(self.argv)
            self.proc = self.fleet.proc
            self.log_path = self.fleet.log_path
            self._conn = QMPConnection(self.socket)
            return self
        self._dir = tempfile.mkdtemp(prefix="memdevd-test-")
        self.socket = os.path.join(self._dir, "qmp.sock")
        from memdevd.app.displays import with_display

        argv = with_display(self.argv)
        cmd = [*self.executable, *argv, "-qmp", f"unix:{self.socket},server=on,wait=off"]
        self.log_path = os.path.join(self._dir, "memdevd.log")
        self.proc = _spawn(cmd, self.log_path)
        self._conn = _connect_when_listening(self.proc, self.socket)
        if self._conn is None:
            status = self.proc.poll()
            err = self.log()
            self.stop()
            if status is None:
                raise TimeoutError("memdevd did not create its socket in time")
            raise RuntimeError(f"memdevd exited with {status}: {err.strip()}")
        return self

    def log(self) -> str:
        """What the daemon has printed so far (stdout and stderr)."""
        return _read_log(self.log_path)

    @property
    def greeting(self) -> dict[str, Any]:
        return self._conn.greeting if self._conn is not None else {}

    def stop(self) -> int | None:
        """Stop the daemon (SIGTERM, as a user would) and clean up.

        Returns its exit status; None for a fleet's VM (taken out of the
        fleet, as ``x-memdevd-fleet-remove`` does, which the process
        outlives)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.fleet is not None:
            if self.name:
                self.fleet.remove(self.name)
                self.name = ""
            return None
        status = _terminate(self.proc) if self.proc is not None else None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return status

    def __enter__(self) -> MemdevdProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> MemdevdProcess:
        return self.start()

    async def __aexit__(
        self, typ: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- QMP, synchronously (no asyncio needed) -----------------------------------

    def cmd(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one command; return its ``return`` value or raise MemdevdError."""
        assert self._conn is not None, "not started"
        return self._conn.cmd(command, arguments)

    def events(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """Events received so far (waiting up to ``wait`` seconds for more)."""
        assert self._conn is not None, "not started"
        return self._conn.events(wait)

    # -- test controls (x-memdevd- commands) -----------------------------------------

    def reset(self) -> None:
        """Back to the start-up machine (``x-memdevd-reset``)."""
        self.cmd("x-memdevd-reset")

    def snapshot(self, name: str = "default") -> None:
        self.cmd("x-memdevd-snapshot", {"name": name})

    def restore(self, name: str = "default") -> None:
        self.cmd("x-memdevd-restore", {"name": name})

    def advance(self, seconds: float) -> int:
        """Move the clock ahead; returns how many pending reactions ran."""
        ran: int = self.cmd("x-memdevd-advance-clock", {"seconds": seconds})["timers-run"]
        return ran

    def set_guest(
        self,
        guest: str | None = None,
        *,
        device: str | None = None,
        virtio_mem_driver: bool | None = None,
    ) -> dict[str, Any]:
        """Change the simulated guest, machine-wide or for one device."""
        args: dict[str, Any] = {}
        if guest is not None:
            args["guest"] = guest
        if device is not None:
            args["device"] = device
        if virtio_mem_driver is not None:
            args["virtio-mem-driver"] = virtio_mem_driver
        result: dict[str, Any] = self.cmd("x-memdevd-set-guest", args)
        return result

    def inject_fault(self, command: str, action: str = "error", **options: Any) -> int:
        """Make the next ``command`` fail (or be delayed, or drop the connection)."""
        args = {"command": command, "action": action, **options}
        fault_id: int = self.cmd("x-memdevd-inject-fault", args)["id"]
        return fault_id

    # -- an asyncio client -----------------------------------------------------------

    async def connect(self, name: str = "memdevd-test") -> QMPClient:
        """A new, negotiated ``qemu.qmp`` QMPClient on the daemon's socket."""
        from qemu.qmp import QMPClient

        client = QMPClient(name)
        await client.connect(self.socket)
        return client


# --- pytest plugin ------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    help_text = (
        "serve the memdevd fixtures' daemons as VMs of one memdevd fleet process "
        "for the whole session (~1 ms per test instead of a process each)"
    )
    parser.getgroup("memdevd").addoption(
        "--memdevd-fleet", action="store_true", default=None, help=help_text
    )
    parser.addini("memdevd_fleet", help_text, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "memdevd(*argv, version=None, guest=None, memdevd_options=()): "
        "configure the memdevd fixture's daemon",
    )


def _fixture_module() -> Any:
    import pytest

    @pytest.fixture(scope="session")
    def memdevd_fleet(request: pytest.FixtureRequest) -> Iterator[MemdevdFleet | None]:
        """The session's fleet with ``--memdevd-fleet`` (or ``memdevd_fleet =
        true`` in the ini file), else None: a process per daemon."""
        config = request.config
        wanted = config.getoption("memdevd_fleet")
        if wanted is None:
            wanted = config.getini("memdevd_fleet")
        if not wanted:
            yield None
            return
        with MemdevdFleet() as fleet:
            yield fleet

    @pytest.fixture
    def memdevd(
        request: pytest.FixtureRequest, memdevd_fleet: MemdevdFleet | None
    ) -> Iterator[MemdevdProcess]:
        """A memdevd daemon for this test (see ``@pytest.mark.memdevd``)."""
        marker = request.node.get_closest_marker("memdevd")
        args: tuple[str, ...] = tuple(marker.args) if marker else ()
        kwargs: dict[str, Any] = dict(marker.kwargs) if marker else {}
        with MemdevdProcess(*args, fleet=memdevd_fleet, **kwargs) as vm:
            yield vm

    @pytest.fixture
    def memdevd_factory(memdevd_fleet: MemdevdFleet | None) -> Iterator[Any]:
        """Start any number of daemons; all stop after the test."""
        started: list[MemdevdProcess] = []

        def factory(*argv: str, **kwargs: Any) -> MemdevdProcess:
            kwargs.setdefault("fleet", memdevd_fleet)
            vm = MemdevdProcess(*argv, **kwargs).start()
            started.append(vm)
            return vm

        yield factory
        for vm in started:
            vm.stop()

    return memdevd_fleet, memdevd, memdevd_factory


with contextlib.suppress(ImportError):  # usable without pytest installed
    memdevd_fleet, memdevd, memdevd_factory = _fixture_module()


__all__ = ["MemdevdError", "MemdevdFleet", "MemdevdProcess", "rss_kib"]
