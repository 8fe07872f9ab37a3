"""``memdevd fleet``: many independent emulated VMs in one process.

A test suite that needs hundreds of VMs should not start hundreds of
processes.  A fleet runs one memdevd machine per VM, each built from its
own QEMU-style argv and served on its own QMP socket ``DIR/NAME.sock``,
all in one event loop:

    memdevd fleet --dir DIR                       # one VM per DIR/NAME.args
    memdevd fleet --dir DIR --count N --template 'ARGV'   # vm0 ... vmN-1

A control socket, ``DIR/fleet.sock``, speaks QMP: ``x-memdevd-fleet-add``
``{"name", "argv"}``, ``x-memdevd-fleet-remove`` ``{"name"}``,
``x-memdevd-fleet-list``, and ``quit`` (the whole fleet).  A VM that quits
on its own leaves the fleet.  SIGTERM/SIGINT/SIGHUP stop every VM as QEMU
stops (``SHUTDOWN``, sockets removed).  The open-file limit is raised to
the hard limit, since a thousand sockets plus their clients exceed the
usual 1,024.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import resource
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from memdevd import messages as M
from memdevd.app.daemon import Daemon
from memdevd.app.displays import with_display
from memdevd.qmp.errors import QMPError
from memdevd.qmp.registry import Registry
from memdevd.qmp.server import ListenAddress, Server
from memdevd.qmp.session import Session
from memdevd.records import record

log = logging.getLogger("memdevd.fleet")

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CONTROL_SOCKET = "fleet.sock"
# Options that make no sense for a VM inside a fleet process.
REFUSED = ("-daemonize", "-pidfile", "-qmp", "-chardev", "-mon")


@record
class FleetVM:
    name: str
    argv: list[str]
    socket: str
    daemon: Daemon
    task: asyncio.Task[int] | None = None
    started_ns: int = field(default_factory=time.monotonic_ns)


class FleetError(Exception):
    """A VM could not be added: the text says why (QEMU's, for a bad argv)."""


def raise_file_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit; returns the new (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class Fleet:
    def __init__(self, directory: str) -> None:
        self.dir = os.path.abspath(directory)
        self.vms: dict[str, FleetVM] = {}
        self.control: Server | None = None
        self._stopping: asyncio.Event | None = None

    # -- VMs --------------------------------------------------------------------------

    async def add(self, name: str, argv: Sequence[str]) -> FleetVM:
        from memdevd.app import cli
        from memdevd.util import qemu_opts as Q

        if not NAME_RE.fullmatch(name):
            raise FleetError(M.FLEET_INVALID_NAME.format(name))
        if name in self.vms:
            raise FleetError(M.FLEET_VM_EXISTS.format(name))
        for arg in argv:
            if arg.split("=", 1)[0] in REFUSED:
                raise FleetError(M.FLEET_OPTION_REFUSED.format(arg))
        sock = os.path.join(self.dir, f"{name}.sock")
        full = [*with_display(argv), "-qmp", f"unix:{sock},server=on,wait=off"]
        try:
            parsed = cli.parse(full, "memdevd")
            daemon, notes = cli.build_daemon(parsed, "memdevd", handle_signals=False)
        except Q.HelpRequested as req:
            raise FleetError(req.text.strip()) from None
        except Q.OptionError as err:
            raise FleetError(Q.format_error(name, err).strip()) from None
        for note in notes:
            log.warning("%s", Q.format_diagnostic(name, note).strip())
        try:
            await daemon.start()
        except Q.OptionError as err:
            # A display that fails as QEMU's does (a VNC port in use).
            await daemon.stop()
            raise FleetError(Q.format_error(name, err).strip()) from None
        except Exception as exc:
            await daemon.stop()
            raise FleetError(M.FLEET_CANNOT_LISTEN.format(name, sock, exc)) from None
        vm = FleetVM(name, list(argv), sock, daemon)
        vm.task = asyncio.ensure_future(self._watch(vm))
        self.vms[name] = vm
        return vm

    async def _watch(self, vm: FleetVM) -> int:
        status = await vm.daemon.wait()
        # A VM that quit (or was removed) leaves the fleet.
        if self.vms.get(vm.name) is vm:
            del self.vms[vm.name]
        return status

    async def remove(self, name: str) -> None:
        vm = self.vms.get(name)
        if vm is None:
            raise FleetError(M.FLEET_NO_SUCH_VM.format(name))
        # As a QEMU killed with SIGTERM: SHUTDOWN, then the socket goes.
        vm.daemon.request_shutdown("host-signal")
        if vm.task is not None:
            await vm.task

    def describe(self, vm: FleetVM) -> dict[str, Any]:
        machine = vm.daemon.machine
        return {
            "name": vm.name,
            "socket": vm.socket,
            "argv": vm.argv,
            "version": vm.daemon.release.version,
            "status": machine.runstate,
            "clients": sum(1 for s in vm.daemon.server.sessions if s.active),
        }

    # -- the control socket -----------------------------------------------------------

    def _registry(self) -> Registry:
        from memdevd.commands.base import parse_args as parse
        from memdevd.qapi.control import NoArgs, QmpCapabilitiesArgs
        from memdevd.qapi.memdevd_control import FleetAddArgs, FleetRemoveArgs
        from memdevd.releases.table import DEFAULT_VERSION, get_release

        reg = Registry()
        version_info = get_release(DEFAULT_VERSION).version_info

        def qmp_capabilities(session: Session, args: dict[str, Any]) -> None:
            parsed = parse(QmpCapabilitiesArgs, args)
            session.negotiate(list(parsed.enable or []))

        def query_version(session: Session, args: dict[str, Any]) -> Any:
            parse(NoArgs, args)
            return version_info

        def query_commands(session: Session, args: dict[str, Any]) -> Any:
            parse(NoArgs, args)
            return [{"name": c.name} for c in reg]

        async def fleet_add(session: Session, args: dict[str, Any]) -> Any:
            parsed = parse(FleetAddArgs, args)
            started = time.perf_counter()
            try:
                vm = await self.add(parsed.name, parsed.argv)
            except FleetError as exc:
                raise QMPError(str(exc)) from None
            out = self.describe(vm)
            out["add-ms"] = round((time.perf_counter() - started) * 1000, 3)
            return out

        async def fleet_remove(session: Session, args: dict[str, Any]) -> None:
            parsed = parse(FleetRemoveArgs, args)
            try:
                await self.remove(parsed.name)
            except FleetError as exc:
                raise QMPError(str(exc)) from None

        def fleet_list(session: Session, args: dict[str, Any]) -> Any:
            parse(NoArgs, args)
            return [self.describe(vm) for vm in self.vms.values()]

        def quit_(session: Session, args: dict[str, Any]) -> None:
            parse(NoArgs, args)
            if self._stopping is not None:
                asyncio.get_running_loop().call_soon(self._stopping.set)

        reg.register("qmp_capabilities", qmp_capabilities)
        reg.register("query-version", query_version)
        reg.register("query-commands", query_commands)
        reg.register("x-memdevd-fleet-add", fleet_add, is_async=True)
        reg.register("x-memdevd-fleet-remove", fleet_remove, is_async=True)
        reg.register("x-memdevd-fleet-list", fleet_list)
        reg.register("quit", quit_)
        return reg

    async def run(self, initial: list[tuple[str, list[str]]]) -> int:
        from memdevd.releases.table import DEFAULT_VERSION, get_release

        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._stopping.set)
        os.makedirs(self.dir, exist_ok=True)
        self.control = Server(self._registry(), get_release(DEFAULT_VERSION).version_info)
        control_path = os.path.join(self.dir, CONTROL_SOCKET)
        await self.control.listen_all([ListenAddress("unix", path=control_path, name="fleet")])
        status = 0
        for name, argv in initial:
            try:
                await self.add(name, argv)
            except FleetError as exc:
                print(f"memdevd fleet: {exc}", file=sys.stderr, flush=True)
                status = 1
        if status:
            await self.stop()
            return status
        print(
            f"memdevd fleet: {len(self.vms)} VMs in {self.dir}, control socket {control_path}",
            file=sys.stderr,
            flush=True,
        )
        await self._stopping.wait()
        await self.stop()
        return 0

    async def stop(self) -> None:
        for name in list(self.vms):
            with contextlib.suppress(FleetError):
                await self.remove(name)
        if self.control is not None:
            await self.control.close()


def initial_vms(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """VMs from DIR/NAME.args files, or N alike from a template."""
    if args.count is not None:
        if args.template is None:
            raise SystemExit(M.FLEET_COUNT_NEEDS_TEMPLATE)
        argv = shlex.split(args.template)
        return [(f"{args.prefix}{i}", list(argv)) for i in range(args.count)]
    found = []
    if os.path.isdir(args.dir):
        for entry in sorted(os.listdir(args.dir)):
            if entry.endswith(".args"):
                with open(os.path.join(args.dir, entry), encoding="utf-8") as f:
                    found.append((entry[: -len(".args")], shlex.split(f.read(), comments=True)))
    return found


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="memdevd fleet",
        description="Run many emulated VMs in one process, one QMP socket each.",
    )
    parser.add_argument("--dir", required=True, help="VM sockets (and NAME.args files) live here")
    parser.add_argument("--count", type=int, help="start N VMs from --template")
    parser.add_argument("--template", help="the QEMU-style argv of each VM, as one string")
    parser.add_argument("--prefix", default="vm", help="names of --count VMs: PREFIX0... (vm)")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    from memdevd.app.daemon import run_event_loop

    args = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.WARNING),
        format="memdevd fleet: %(levelname)s: %(message)s",
    )
    soft, _hard = raise_file_limit()
    vms = initial_vms(args)
    if soft < 2 * len(vms) + 64:
        log.warning("open-file limit %d may be too low for %d VMs", soft, len(vms))
    fleet = Fleet(args.dir)
    return int(run_event_loop(lambda: fleet.run(vms)))
