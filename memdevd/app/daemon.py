"""The running daemon: one machine, its QMP server, its clock and signals.

:class:`Daemon` wires the layers together at run time: it builds the
command table for the machine, serves it on the configured sockets, drives
the machine's clock from the event loop (so simulated guest activity
happens on time), forwards machine events to every QMP client, and shuts
down the way QEMU does (``SHUTDOWN`` event, sockets removed, exit status).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import field
from typing import Any

from memdevd import messages as M
from memdevd import records
from memdevd.machine.clock import Clock, VirtualClock
from memdevd.machine.machine import Machine
from memdevd.qmp.registry import Registry
from memdevd.qmp.server import ListenAddress, Server
from memdevd.records import record
from memdevd.releases.table import Release

log = logging.getLogger("memdevd")


@record
class DaemonOptions:
    listen: list[ListenAddress] = field(default_factory=list)
    socket_mode: int | None = 0o600
    max_clients: int = 1024
    pidfile: str | None = None
    prog_name: str = "memdevd"
    # Called once every listener is up (e.g. to print the socket paths).
    on_ready: Callable[[Server], None] | None = None
    # Off for the VMs of a fleet: the fleet process handles signals.
    handle_signals: bool = True
    # -no-shutdown: a guest shutdown stops the VM instead of ending QEMU.
    no_shutdown: bool = False
    # The displays' sockets (app/display_sockets.SocketBinder), if any.
    binder: Any = None
    # -compat's policy (qapi/compat.CompatPolicy); None: QEMU's default
    compat: Any = None


class ClockDriver:
    """Runs a clock's due timers from the asyncio loop.

    A :class:`RealClock`'s timers run when their time comes.  A
    :class:`VirtualClock` only moves with ``x-memdevd-advance-clock``, but
    what is due already (a cooperative guest's immediate reaction) still
    runs right after the command that caused it, as with a real clock.
    """

    def __init__(self, clock: Clock, loop: asyncio.AbstractEventLoop) -> None:
        self.clock = clock
        self.loop = loop
        self._handle: asyncio.TimerHandle | None = None
        clock.on_schedule = self._rearm
        self._rearm()

    def _rearm(self, _deadline_ns: int | None = None) -> None:
        deadline = self.clock.next_deadline()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if deadline is None:
            return
        delay = max(0.0, (deadline - self.clock.now_ns()) / 1e9)
        if delay > 0 and isinstance(self.clock, VirtualClock):
            return
        self._handle = self.loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.clock.run_due()
        self._rearm()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self.clock.on_schedule = None


# What _rehearse_hot_plug sends, as a client would; once per process.
_rehearsed = False
# Python 3.11 specialises a function's bytecode only after its first
# eight or so calls: one rehearsal left the first real hot-plug running
# generic bytecode (~230 us in process against ~140 us for the second and
# ~115 us from the fifth on), hence several rounds.
_REHEARSAL_ROUNDS = 10
_REHEARSAL = tuple(
    request
    for i in range(_REHEARSAL_ROUNDS)
    for request in (
        b'{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram",'
        b' "id": "rehearsal%d", "size": 134217728}}\n' % i,
        b'{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "rehearsal%d",'
        b' "memdev": "rehearsal%d"}}\n' % (i, i),
        b'{"execute": "query-memory-devices"}\n',
    )
)


class Daemon:
    def __init__(self, machine: Machine, release: Release, options: DaemonOptions) -> None:
        from memdevd.commands.runtime import Runtime

        self.machine = machine
        self.release = release
        self.options = options
        # Set by the shutdown that ends the process (not -no-shutdown's pause).
        self.exit_requested = False
        self.runtime = Runtime(machine, release, request_shutdown=self.request_shutdown)
        # The handlers (and pydantic) load with the first command, not before
        # the greeting.
        self.registry = Registry(loader=self._register_commands)
        self.server = Server(
            self.registry,
            release.version_info,
            json_push_parser=release.json_push_parser,
            socket_mode=options.socket_mode,
            max_clients=options.max_clients,
        )
        self.runtime.faults = self.server.faults
        self.server.command_hook = self._before_command
        if release.fdset_removal_deferred:
            self.server.on_session_closed = self._monitor_closed
        if options.compat is not None and not options.compat.is_default:
            from functools import partial

            from memdevd.commands.base import check_command_policy

            self.runtime.compat = options.compat
            self.server.command_policy = partial(check_command_policy, self.runtime)
        machine.set_event_sink(self._on_event)
        self.exit_status = 0
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock_driver: ClockDriver | None = None
        self._pidfile_fd: int | None = None

    def _register_commands(self, registry: Registry) -> None:
        from memdevd.commands import declare_all

        declare_all(registry, self.runtime)
        if self._loop is not None:
            # Once this command's reply is out, load in idle time what the
            # first object-add would otherwise load on the spot.
            self._loop.call_soon(self._warm_up)

    def _warm_up(self) -> None:
        with contextlib.suppress(Exception):
            # The memory commands' module (the others load on first use).
            self.registry.get("object-add")
            # The recorded QOM instances the first object-add and device_add
            # consult.
            self.machine.recording.warm_up()
            # object-add's member table.
            import memdevd.qapi.object_members
            import memdevd.qapi.object_options  # noqa: F401

            if "memdevd.qapi.schema" in sys.modules:
                # The models are loaded (a command with arguments came
                # first): each one's member table (typing.get_type_hints).
                # Not loaded here otherwise: pydantic is ~8 MiB.
                from memdevd.qapi.schema import QAPIModel, members_of

                pending = list(QAPIModel.__subclasses__())
                while pending:
                    model = pending.pop()
                    pending.extend(model.__subclasses__())
                    members_of(model)
        # The classes made once so far (at start-up) are mostly made again
        # by the first commands: their __init__ now, and before the
        # rehearsal (setting a class's __init__ undoes the bytecode
        # specialisations that read the class).
        records.compile_used()
        self._rehearse_hot_plug()

    def _rehearse_hot_plug(self) -> None:
        """Object-add + device_add rounds on a scratch copy of the machine.

        The first hot-plug in a process runs each line of its path, from the
        JSON reader to the reply, for the first time: measured, ~520 us
        against ~190 us for the next one.  Rehearsed in idle time on a copy
        nothing sees (its own command table, server and session), for
        enough rounds that Python has specialised the path's bytecode
        (~2 ms once), a client's first hot-plug costs ~40% less.
        """
        global _rehearsed
        # Once per process (the code is warm for every VM of a fleet after
        # one rehearsal), and not where memory devices were already plugged
        # at start-up (their path has run).
        if _rehearsed or self.machine.memory.realized_devices():
            return
        _rehearsed = True
        from memdevd.commands import register_group
        from memdevd.commands.runtime import Runtime
        from memdevd.machine import snapshot
        from memdevd.qapi.json_writer import encode
        from memdevd.qmp.session import Session

        with contextlib.suppress(Exception):
            table = Registry()
            register_group("memory", Runtime(snapshot.scratch(self.machine), self.release), table)
            session = Session(Server(table, self.release.version_info))
            session.negotiated = True
            for request in _REHEARSAL:
                for item in session.streamer.feed(request):
                    # A board without slots refuses the DIMM: still a rehearsal.
                    reply = session.dispatch(item)
                    if isinstance(reply, dict):
                        encode(reply)

    def _monitor_closed(self, clients: int) -> None:
        if self.runtime.fdsets:
            from memdevd.commands.fds import monitor_fdsets_cleanup

            monitor_fdsets_cleanup(self.runtime, clients)

    def _before_command(self, session: Any, name: str, args: dict[str, Any]) -> None:
        # Every command but the test controls counts as a poll for a guest
        # that acts after N of them.
        if not name.startswith("x-memdevd-"):
            self.machine.guest.poll()

    # -- events ------------------------------------------------------------------

    def _on_event(self, name: str, data: dict[str, Any] | None, timestamp_us: int) -> None:
        if self.runtime.compat is not None:
            # qapi_event_send_*: an event with a hidden feature is not sent,
            # its data goes through the output visitor
            from memdevd.commands.base import compat_checker

            sent, data = compat_checker(self.runtime).event(name, data)
            if not sent:
                return
        self.server.emit_event(name, data, timestamp_us)

    # -- shutdown ------------------------------------------------------------------

    def request_shutdown(self, reason: str, guest: bool = False, status: int = 0) -> None:
        """``qemu_system_shutdown_request``: the main loop shuts down next."""
        if self._loop is None:
            return
        default = "pause" if self.options.no_shutdown else "poweroff"
        paused = self.machine.run_actions.get("shutdown", default) == "pause"
        # A signal and quit set the action to poweroff first.
        if paused and reason not in ("host-signal", "host-qmp-quit"):
            # main_loop_should_exit() with shutdown action "pause": SHUTDOWN,
            # then vm_stop(RUN_STATE_SHUTDOWN) of a live VM; the process stays.
            self.server.emit_event("SHUTDOWN", {"guest": guest, "reason": reason})
            if self.machine.running:
                self.machine.stop(runstate="shutdown")
            return
        self.exit_status = status
        self.exit_requested = True
        # QEMU's main loop handles the shutdown request (and emits SHUTDOWN)
        # before the QMP coroutine writes the command's reply.
        self.machine.runstate = "shutdown"
        self.server.emit_event("SHUTDOWN", {"guest": guest, "reason": reason})
        if self._stopping is not None:
            self._loop.call_soon(self._stopping.set)

    def _on_signal(self, signum: int, sender: int = 0) -> None:
        # QEMU prints "terminating on signal N" and reports host-signal, once:
        # its main loop has ended by the time a second signal (libvirt sends
        # SIGTERM more than once) is looked at.
        if self.exit_requested:
            return
        if sender:
            text = M.TERMINATING_ON_SIGNAL_FROM.format(signum, sender, _process_name(sender))
        else:
            # From the kernel (^C at a terminal): no sender to name.
            text = M.TERMINATING_ON_SIGNAL.format(signum)
        # stderr may be a closed pipe (a parent that stopped reading): the
        # signal must still shut the daemon down.
        with contextlib.suppress(OSError, ValueError):
            from memdevd.util.qemu_opts import Diagnostic, format_diagnostic

            line = format_diagnostic(self.options.prog_name, Diagnostic(text))
            sys.stderr.write(line)
            sys.stderr.flush()
        self.request_shutdown("host-signal")

    # -- running -------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._clock_driver = ClockDriver(self.machine.clock, self._loop)
        # Net backends' sockets (a stream netdev's connect, accept...).
        self.machine.drive_io(self._loop)
        if self.options.pidfile:
            self._pidfile_fd = write_pidfile(self.options.pidfile)
        # The monitors listen, the displays start, then the main loop greets.
        self.server.hold_clients = True
        await self.server.listen_all(self.options.listen)
        self._init_displays()
        await self.server.serve_held()
        if self.options.handle_signals:
            if shutdown_signals_blocked():
                _watch_signals(self._loop, self._on_signal)
            else:
                for signum in SHUTDOWN_SIGNALS:
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        self._loop.add_signal_handler(signum, self._on_signal, signum)
        if self.options.on_ready is not None:
            self.options.on_ready(self.server)

    def _init_displays(self) -> None:
        """``qemu_init_displays``, after the monitors as in QEMU: the local
        display, the VNC servers (bound here), what QEMU prints for them.
        Raises OptionError as QEMU exits."""
        from memdevd.app.displays import init_displays, print_notes

        if self.options.binder is not None:
            self.options.binder.on_vnc_client = self._vnc_client_event
            self.options.binder.attach(self._loop)
        print_notes(self.options.prog_name, init_displays(self.machine))

    def _vnc_client_event(self, event: str, key: str, client: dict[str, Any]) -> None:
        """VNC_CONNECTED / VNC_DISCONNECTED of a client of display ``key``."""
        data = self.machine.display.vnc_client_event(key, client)
        if data is not None:
            self.machine.emit(event, data)

    async def wait(self) -> int:
        assert self._stopping is not None
        await self._stopping.wait()
        await self.stop()
        return self.exit_status

    async def stop(self) -> None:
        # Let replies and the SHUTDOWN event reach the clients first; clients
        # still waiting for a slot are dropped unseen, as QEMU drops them.
        self.server.closing = True
        for session in list(self.server.waiting):
            session.abort()
        for session in list(self.server.sessions):
            if session.transport is not None and not session.closed:
                session.transport.close()
        await asyncio.sleep(0)
        await self.server.close()
        if self.options.binder is not None:
            self.options.binder.close_all()
        if self._clock_driver is not None:
            self._clock_driver.close()
        if self._loop is not None and self.options.handle_signals:
            for signum in SHUTDOWN_SIGNALS:
                with contextlib.suppress(Exception):
                    self._loop.remove_signal_handler(signum)
        if self.options.pidfile and self._pidfile_fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.options.pidfile)
            os.close(self._pidfile_fd)
            self._pidfile_fd = None

    async def run(self) -> int:
        await self.start()
        return await self.wait()


class PidfileError(Exception):
    """QEMU's text for a pidfile it cannot create or lock."""


def write_pidfile(path: str) -> int:
    """``qemu_write_pidfile``: create 0600, lock, write "PID\\n"; keep the lock.

    Returns the open descriptor: the lock lasts as long as the process, so a
    second instance with the same pidfile fails as QEMU's would.
    """
    import fcntl

    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PidfileError(M.PIDFILE_OPEN_FAILED.format(exc.strerror)) from None
        try:
            before = os.fstat(fd)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise PidfileError(M.PIDFILE_LOCK_FAILED.format(os.strerror(exc.errno or 0))) from None
        try:
            if os.stat(path).st_ino == before.st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # replaced meanwhile: lock the new file
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def run_event_loop(coro_factory: Callable[[], Any]) -> Any:
    """Run with uvloop when it is installed, plain asyncio otherwise."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        return asyncio.run(coro_factory())
    return uvloop.run(coro_factory())


# -- signals with their sender --------------------------------------------------------

#: What stops QEMU with "terminating on signal N" (os-posix.c os_setup_signal_handling).
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def block_shutdown_signals() -> bool:
    """Block :data:`SHUTDOWN_SIGNALS` in the calling thread and every thread it
    starts later, so that one thread takes them with ``sigwaitinfo`` and
    learns who sent them, as QEMU's SA_SIGINFO handler does (Python's own
    handlers drop the sender).  Call it before any other thread starts;
    False where the platform cannot (the daemon then uses plain handlers)."""
    if not hasattr(signal, "sigwaitinfo"):
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, SHUTDOWN_SIGNALS)
    return True


def shutdown_signals_blocked() -> bool:
    if not hasattr(signal, "sigwaitinfo"):
        return False
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    return all(s in mask for s in SHUTDOWN_SIGNALS)


def _watch_signals(loop: asyncio.AbstractEventLoop, handler: Any) -> None:
    def wait() -> None:
        while True:
            info = signal.sigwaitinfo(SHUTDOWN_SIGNALS)
            try:
                loop.call_soon_threadsafe(handler, info.si_signo, info.si_pid)
            except RuntimeError:  # the loop is closed: the daemon has stopped
                return

    threading.Thread(target=wait, name="signals", daemon=True).start()


def _process_name(pid: int) -> str:
    """``qemu_get_pid_name``: /proc/PID/cmdline up to its first NUL."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return M.UNKNOWN_PROCESS
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")
