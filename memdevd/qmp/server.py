"""QMP listeners, the set of connected sessions, and event fan-out.

A :class:`Server` owns a command :class:`~memdevd.qmp.registry.Registry`, the
greeting, and any number of listening sockets (UNIX paths, TCP addresses,
or already-listening file descriptors handed over by a parent such as
libvirt).  Unlike a QEMU ``-qmp`` socket, which serves one client at a time,
each listener accepts many clients at once; each negotiates on its own.

Events are encoded once and written to every negotiated session, as
``monitor_qapi_event_emit`` does for every QMP monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import field
from typing import Any

from memdevd import messages as M
from memdevd.qapi.json_writer import encode
from memdevd.qmp.faults import FaultTable
from memdevd.qmp.registry import Registry
from memdevd.qmp.session import Session
from memdevd.records import record
from memdevd.util.sockets import connect_first, connect_unix

log = logging.getLogger("memdevd.qmp")


@record
class ListenAddress:
    """Where to listen: ``unix`` path, ``tcp`` host/port, or an inherited ``fd``."""

    kind: str  # "unix" | "tcp" | "fd"
    path: str = ""
    host: str = ""
    port: int = 0
    fd: int = -1
    name: str = ""
    # The option that asked for it, as QEMU prints it before an error.
    location: str | None = None
    # A client-mode socket (no server=on): connect to the address instead,
    # again every reconnect_ms after a failure or a hang-up (0: once).
    connect: bool = False
    reconnect_ms: int = 0

    def socket_address(self) -> dict[str, object]:
        """QAPI SocketAddress, as ``qom-get /chardevs/ID addr`` shows it."""
        if self.kind == "unix":
            return {"type": "unix", "path": self.path}
        if self.kind == "tcp":
            return {"type": "inet", "host": self.host, "port": str(self.port)}
        # QEMU replaces an fd address by the socket's own once it listens
        # (socket_local_address()): libvirt's monitor fd reads as its path.
        try:
            sock = socket.socket(fileno=self.fd)
        except OSError:
            return {"type": "fd", "str": str(self.fd)}
        try:
            family, local = sock.family, sock.getsockname()
        except OSError:
            return {"type": "fd", "str": str(self.fd)}
        finally:
            sock.detach()
        if family == socket.AF_UNIX and isinstance(local, str):
            return {"type": "unix", "path": local}
        if family in (socket.AF_INET, socket.AF_INET6):
            return {"type": "inet", "host": str(local[0]), "port": str(local[1])}
        return {"type": "fd", "str": str(self.fd)}

    def describe(self) -> str:
        if self.kind == "unix":
            return f"unix:{self.path}"
        if self.kind == "tcp":
            return f"tcp:{self.host}:{self.port}"
        return f"fd:{self.fd}"


class ListenError(Exception):
    """A listener could not be created: QEMU's text, hint and option location."""

    def __init__(self, message: str, hint: str | None = None, location: str | None = None):
        super().__init__(message)
        self.hint = hint
        self.location = location


@record
class _Listener:
    address: ListenAddress
    server: asyncio.AbstractServer
    created_path: str | None = None


@record
class Server:
    """Serve a registry of QMP commands on any number of sockets."""

    registry: Registry
    version_info: dict[str, Any]
    capabilities: tuple[str, ...] = ("oob",)
    json_limits: dict[str, int] = field(default_factory=dict)
    # The release's JSON parser (Release.json_push_parser).
    json_push_parser: bool = False
    socket_mode: int | None = 0o600
    # Called before every dispatched command (fault injection, logging).
    command_hook: Callable[[Session, str, dict[str, Any]], None] | None = None
    # -compat's check of a command by name (raises its QMPError), run after
    # "not found" as qmp_dispatch runs compat_policy_input_ok
    command_policy: Callable[[str], None] | None = None
    # Told the number of clients left when one leaves (monitor_qmp_event's
    # CHR_EVENT_CLOSED: 7.2's fd sets are cleaned up then).
    on_session_closed: Callable[[int], None] | None = None
    max_clients: int = 1024
    faults: FaultTable = field(default_factory=FaultTable)
    sessions: set[Session] = field(default_factory=set)
    waiting: list[Session] = field(default_factory=list)
    closing: bool = False
    # Listeners accept no client until serve_held(): QEMU's monitors exist
    # before its main loop runs, and nobody is greeted until start-up is done.
    hold_clients: bool = False
    _listeners: list[_Listener] = field(default_factory=list)
    _connectors: list[_Connector] = field(default_factory=list)
    # What client-mode monitors that could not connect print at start-up
    # (check_report_connect_error's first report), for the caller to print.
    connect_reports: list[str] = field(default_factory=list)
    _greeting: bytes | None = None

    # -- greeting -------------------------------------------------------------

    def greeting_bytes(self) -> bytes:
        if self._greeting is None:
            self._greeting = encode(
                {"QMP": {"version": self.version_info, "capabilities": list(self.capabilities)}}
            )
        return self._greeting

    # -- sessions -------------------------------------------------------------

    def session_opened(self, session: Session) -> bool:
        """Register a new connection; False if it must wait for a free slot."""
        log.info(
            "client connected: %s",
            session.peer,
            extra={
                "fields": {
                    "event": "connect",
                    "peer": session.peer,
                    "listener": session.listener_name,
                }
            },
        )
        if len(self.sessions) >= self.max_clients:
            self.waiting.append(session)
            return False
        self.sessions.add(session)
        return True

    def session_closed(self, session: Session) -> None:
        log.info(
            "client disconnected: %s",
            session.peer,
            extra={"fields": {"event": "disconnect", "peer": session.peer}},
        )
        for connector in self._connectors:
            connector.session_closed(session)
        if session in self.waiting:
            self.waiting.remove(session)
            return
        self.sessions.discard(session)
        if self.on_session_closed is not None:
            self.on_session_closed(len(self.sessions))
        while self.waiting and len(self.sessions) < self.max_clients and not self.closing:
            nxt = self.waiting.pop(0)
            if nxt.closed:
                continue
            self.sessions.add(nxt)
            nxt.activate()

    def before_command(self, session: Session, name: str, args: dict[str, Any]) -> None:
        if self.command_hook is not None:
            self.command_hook(session, name, args)

    # -- events -----------------------------------------------------------------

    def emit_event(
        self, name: str, data: dict[str, Any] | None = None, timestamp_us: int | None = None
    ) -> None:
        """Send an event to every negotiated session (QEMU's event layout)."""
        if timestamp_us is None:
            timestamp_us = time.time_ns() // 1000
        message: dict[str, Any] = {
            "timestamp": {
                "seconds": timestamp_us // 1_000_000,
                "microseconds": timestamp_us % 1_000_000,
            },
            "event": name,
        }
        if data is not None:
            message["data"] = data
        payload = encode(message)
        for session in list(self.sessions):
            if session.negotiated:
                session.send_bytes(payload)

    # -- listeners --------------------------------------------------------------

    async def listen(self, address: ListenAddress) -> None:
        if address.connect:
            connector = _Connector(self, address)
            connector.check()
            self._connectors.append(connector)
            if not self.hold_clients:
                connector.start()
            return
        loop = asyncio.get_running_loop()

        def factory() -> Session:
            return Session(self, address.name or address.describe())

        created: str | None = None
        try:
            if address.kind == "unix":
                sock = _bind_unix(address.path, self.socket_mode)
                created = address.path
                srv = await loop.create_unix_server(
                    factory, sock=sock, start_serving=not self.hold_clients
                )
            elif address.kind == "tcp":
                sock = _bind_tcp(address.host, address.port)
                srv = await loop.create_server(
                    factory, sock=sock, start_serving=not self.hold_clients
                )
            elif address.kind == "fd":
                sock = socket.socket(fileno=address.fd)
                if sock.family == socket.AF_UNIX:
                    srv = await loop.create_unix_server(
                        factory, sock=sock, start_serving=not self.hold_clients
                    )
                else:
                    srv = await loop.create_server(
                        factory, sock=sock, start_serving=not self.hold_clients
                    )
            else:  # pragma: no cover - guarded by the CLI
                raise ValueError(address.kind)
        except ListenError as exc:
            exc.location = exc.location or address.location
            raise
        self._listeners.append(_Listener(address, srv, created))

    async def listen_all(self, addresses: Iterable[ListenAddress]) -> None:
        for address in addresses:
            await self.listen(address)

    async def serve_held(self) -> None:
        """Start accepting on the listeners made while ``hold_clients``."""
        self.hold_clients = False
        for lst in self._listeners:
            await lst.server.start_serving()
        for connector in self._connectors:
            connector.start()

    def bound_addresses(self) -> list[ListenAddress]:
        """Listener addresses with TCP port 0 resolved to the real port."""
        out: list[ListenAddress] = []
        for lst in self._listeners:
            addr = lst.address
            if addr.kind == "tcp":
                for sock in getattr(lst.server, "sockets", ()):
                    host, port = sock.getsockname()[:2]
                    addr = ListenAddress("tcp", host=addr.host or host, port=port, name=addr.name)
                    break
            out.append(addr)
        return out

    async def close(self) -> None:
        """Stop listening, drop every client, remove socket files we created."""
        self.closing = True
        for connector in self._connectors:
            connector.stop()
        for lst in self._listeners:
            lst.server.close()
        for session in [*self.sessions, *self.waiting]:
            session.abort()
        for lst in self._listeners:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lst.server.wait_closed(), 1.0)
            if lst.created_path:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lst.created_path)
        self._listeners.clear()

    def remove_socket_files(self) -> None:
        """Synchronous clean-up for exit paths that cannot await."""
        for lst in self._listeners:
            if lst.created_path:
                with contextlib.suppress(OSError):
                    os.unlink(lst.created_path)


class _Connector:
    """A QMP monitor on a client-mode socket chardev: QEMU connects to the
    address (``tcp_chr_connect_client_sync``, or ``reconnect=`` attempts
    after a failure or a hang-up) and serves QMP on that connection."""

    def __init__(self, server: Server, address: ListenAddress) -> None:
        self.server = server
        self.address = address
        self.session: Session | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._sock: socket.socket | None = None

    def check(self) -> None:
        """Start-up without ``reconnect``: the first connection must work
        (QEMU connects synchronously while it creates the chardev)."""
        try:
            # The connection QEMU makes while it creates the chardev: kept
            # for the session start() begins once clients may be served.
            self._sock = _client_socket(self.address)
        except OSError as exc:
            failure = _connect_failed(self.address, exc)
            if not self.address.reconnect_ms:
                raise ListenError(failure, location=self.address.location) from None
            name = self.address.name or self.address.describe()
            self.server.connect_reports.append(
                M.CHARDEV_SOCKET_UNABLE_TO_CONNECT.format(name, failure)
            )

    def start(self) -> None:
        if self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(self._run(first=True))

    def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def session_closed(self, session: Session) -> None:
        if session is self.session:
            self.session = None
            self._task = None
            if self.address.reconnect_ms and not self._stopped and not self.server.closing:
                self._task = asyncio.get_running_loop().create_task(self._run(first=False))

    async def _run(self, first: bool) -> None:
        delay = self.address.reconnect_ms / 1000
        if not first:
            await asyncio.sleep(delay)
        loop = asyncio.get_running_loop()
        while not self._stopped:
            session = Session(self.server, self.address.name or self.address.describe())
            try:
                sock, self._sock = self._sock or _client_socket(self.address), None
                sock.setblocking(False)

                def protocol(session: Session = session) -> Session:
                    return session

                if sock.family == socket.AF_UNIX:
                    await loop.create_unix_connection(protocol, sock=sock)
                else:
                    await loop.create_connection(protocol, sock=sock)
            except OSError:
                if not self.address.reconnect_ms:
                    return
                await asyncio.sleep(delay)
                continue
            self.session = session
            return


def _client_socket(address: ListenAddress) -> socket.socket:
    """A blocking socket connected to ``address`` (OSError if it fails)."""
    if address.kind == "unix":
        return connect_unix(address.path)
    infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)
    return connect_first(infos, timeout=5.0)


def _connect_failed(address: ListenAddress, exc: OSError) -> str:
    reason = os.strerror(exc.errno or 0)
    if address.kind == "unix":
        return M.SOCKET_CONNECT_UNIX_FAILED.format(address.path, reason)
    return M.SOCKET_CONNECT_INET_FAILED.format(address.host, address.port, reason)


def _bind_tcp(host: str, port: int) -> socket.socket:
    """``inet_listen_saddr``: resolve, bind exactly the address given, listen."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenError(M.ADDRESS_RESOLUTION_FAILED.format(host, port, exc.strerror)) from None
    last: OSError | None = None
    for family, kind, proto, _, addr in infos:
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
            sock.listen(128)
        except OSError as exc:
            last = exc
            sock.close()
            continue
        sock.setblocking(False)
        return sock
    reason = last.strerror if last is not None else "no address"
    raise ListenError(M.NO_AVAILABLE_PORT.format(reason))


def _bind_unix(path: str, mode: int | None) -> socket.socket:
    """Create a listening UNIX socket as QEMU does, but safely.

    QEMU unlinks whatever is at the path; memdevd only replaces a stale
    socket and refuses to delete a regular file or directory a user may have
    given by mistake.
    """
    limit = 108  # sizeof(struct sockaddr_un.sun_path)
    if len(os.fsencode(path)) >= limit:
        raise ListenError(
            M.UNIX_PATH_TOO_LONG.format(path), M.UNIX_PATH_TOO_LONG_HINT.format(limit)
        )
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise ListenError(M.UNIX_BIND_FAILED.format(path, M.UNIX_PATH_NOT_A_SOCKET))
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if mode is not None:
            # Create the socket with the final mode: no window where it is wider.
            old = os.umask(0o777 & ~mode)
            try:
                sock.bind(path)
            finally:
                os.umask(old)
        else:
            sock.bind(path)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ListenError(M.UNIX_BIND_FAILED.format(path, os.strerror(exc.errno or 0))) from exc
    sock.setblocking(False)
    return sock
