"""The displays' sockets: VNC and SPICE listeners bound as QEMU binds them.

:class:`SocketBinder` is the :class:`~memdevd.machine.display.DisplayBinder`
the daemon gives a machine.  A VNC address is bound as
``qio_net_listener_open_sync`` binds it (io/net-listener.c,
io/dns-resolver.c, util/qemu-sockets.c): the address resolved, then every
resolved address listened on, each trying the ports of a ``to=`` range in
order with ``SO_REUSEADDR`` and QEMU's ``IPV6_V6ONLY`` rules, the first
error reported when none could be bound.  A SPICE server binds as
libspice-server 0.15's ``reds_init_socket`` does (the first address that
binds, dual-stack on IPv6).  Python's sockets make the same system calls,
so a port in use, an address that does not resolve or a directory that
does not exist fail here as they fail for QEMU, with QEMU's texts.

What a client gets (docs/divergences.md): a VNC client is announced
(``VNC_CONNECTED``, listed by ``query-vnc``) and, on a plain socket, reads
QEMU's RFB version banner, ``RFB 003.008\\n``; whatever it sends back, or
its hang-up, ends the connection (``VNC_DISCONNECTED``): no session starts,
since no framebuffer exists.  A SPICE client's connection is closed at
once.  UNIX socket files are left behind at exit, as QEMU leaves them;
like memdevd's QMP sockets they are created with ``-memdevd socket-mode``
and only a stale socket is replaced, never another file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import stat
from collections.abc import Callable
from typing import Any

from memdevd import messages as M
from memdevd.machine.display import BoundAddress, DisplayStartError, SocketAddr, SpiceServer
from memdevd.machine.errors import CoreError
from memdevd.util.sockets import connect_unix

# ui/vnc.c vnc_protocol_write() of the version QEMU speaks.
RFB_BANNER = b"RFB 003.008\n"
# sizeof(struct sockaddr_un.sun_path)
SUN_PATH_MAX = 108


class SocketBinder:
    """Listeners by (display key, kind), in the order their sockets were made."""

    def __init__(self, socket_mode: int | None = 0o600) -> None:
        self.socket_mode = socket_mode
        self._listeners: dict[tuple[str, str], list[socket.socket]] = {}
        self._spice: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # A VNC display's connected clients, oldest first: (socket, the
        # peer as VncClientInfo).
        self._clients: dict[str, list[tuple[socket.socket, dict[str, Any]]]] = {}
        # Told (event, display key, client info) when a VNC client connects
        # (VNC_CONNECTED) and goes (VNC_DISCONNECTED).
        self.on_vnc_client: Callable[[str, str, dict[str, Any]], None] | None = None

    # -- serving -----------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start answering clients on every socket bound so far (and later)."""
        self._loop = loop
        for (key, kind), socks in self._listeners.items():
            for sock in socks:
                self._serve(sock, kind, key)
        for sock in self._spice:
            self._serve(sock, "spice", "")

    def _serve(self, sock: socket.socket, kind: str, key: str) -> None:
        if self._loop is None:
            return
        self._loop.add_reader(sock.fileno(), self._accept, sock, kind, key)

    def _accept(self, sock: socket.socket, kind: str, key: str) -> None:
        """``vnc_listen_io`` -> ``vnc_connect``: the client is cached
        (VNC_CONNECTED), a plain one reads the RFB version; anything it
        sends back, or its hang-up, ends it (VNC_DISCONNECTED)."""
        try:
            client, _ = sock.accept()
        except OSError:
            return
        if kind == "spice":
            _greet_and_close(client, b"")
            return
        client.setblocking(False)
        info = peer_info(client, websocket=kind == "vnc-ws")
        self._clients.setdefault(key, []).append((client, info))
        self._notify("VNC_CONNECTED", key, info)
        if kind == "vnc":
            with contextlib.suppress(OSError):
                client.send(RFB_BANNER)
        assert self._loop is not None
        self._loop.add_reader(client.fileno(), self._client_readable, key, client, info)

    def _client_readable(self, key: str, client: socket.socket, info: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            client.recv(4096)
        self._drop_client(key, client)
        self._notify("VNC_DISCONNECTED", key, info)

    def _drop_client(self, key: str, client: socket.socket) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(client.fileno())
        clients = self._clients.get(key, [])
        self._clients[key] = [c for c in clients if c[0] is not client]
        client.close()

    def _notify(self, event: str, key: str, info: dict[str, Any]) -> None:
        if self.on_vnc_client is not None:
            self.on_vnc_client(event, key, info)

    def clients(self, key: str) -> list[dict[str, Any]]:
        """The VNC display's connected clients, oldest first."""
        return [dict(info) for _, info in self._clients.get(key, [])]

    def _unserve(self, sock: socket.socket) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(sock.fileno())

    def close_all(self) -> None:
        for display, clients in list(self._clients.items()):
            for client, _ in clients:
                self._drop_client(display, client)
        for key in list(self._listeners):
            self.close(*key)
        for sock in self._spice:
            self._unserve(sock)
            sock.close()
        self._spice.clear()

    # -- DisplayBinder -----------------------------------------------------------------

    def new_listener(self, key: str, kind: str) -> None:
        self._listeners[(key, kind)] = []

    def listen(self, key: str, kind: str, address: SocketAddr) -> None:
        socks = open_listener(address, backlog=1, socket_mode=self.socket_mode)
        self._listeners.setdefault((key, kind), []).extend(socks)
        for sock in socks:
            self._serve(sock, kind, key)

    def close(self, key: str, kind: str) -> None:
        for sock in self._listeners.pop((key, kind), []):
            self._unserve(sock)
            sock.close()

    def bound(self, key: str, kind: str) -> list[BoundAddress] | None:
        socks = self._listeners.get((key, kind))
        if socks is None:
            return None
        return [local_address(sock) for sock in socks if sock.fileno() >= 0]

    def connect(self, key: str, address: SocketAddr) -> None:
        """Reverse VNC: connect to the viewer, greet it, close."""
        sock = connect_to(address)
        _greet_and_close(sock, RFB_BANNER)

    def spice_listen(self, server: SpiceServer) -> None:
        """libspice-server ``do_spice_init``: the TLS files, then the sockets."""
        if server.tls_port:
            _check_spice_certificates(server)
        notes: list[tuple[str, str]] = []
        socks: list[socket.socket] = []
        ports = []
        if server.port or server.family == "unix":
            ports.append(server.port)
        if server.tls_port:
            ports.append(server.tls_port)
        try:
            for port in ports:
                sock = _spice_socket(server, port, notes, self.socket_mode)
                if sock is None:
                    notes.append(("warning", M.SPICE_WARN_OPEN_SOCKETS))
                    raise DisplayStartError(M.SPICE_INIT_FAILED, notes)
                socks.append(sock)
        except DisplayStartError:
            for sock in socks:
                sock.close()
            raise
        self._spice.extend(socks)
        for sock in socks:
            self._serve(sock, "spice", "")


def _greet_and_close(client: socket.socket, greet: bytes) -> None:
    with contextlib.suppress(OSError):
        client.setblocking(False)
        if greet:
            client.send(greet)
    client.close()


def peer_info(client: socket.socket, *, websocket: bool) -> dict[str, Any]:
    """``vnc_init_basic_info_from_remote_addr`` (VncClientInfo)."""
    if client.family == socket.AF_UNIX:
        name = client.getpeername()
        path = name.decode(errors="replace") if isinstance(name, bytes) else str(name or "")
        host, service, family = "", path, "unix"
    else:
        peer = client.getpeername()
        host, service = str(peer[0]), str(peer[1])
        family = "ipv6" if client.family == socket.AF_INET6 else "ipv4"
    return {"host": host, "service": service, "family": family, "websocket": websocket}


def local_address(sock: socket.socket) -> BoundAddress:
    """``qio_channel_socket_get_local_address`` as VncBasicInfo reads it."""
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        path = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
        return BoundAddress("unix", "", path)
    family = "ipv6" if sock.family == socket.AF_INET6 else "ipv4"
    return BoundAddress(family, str(name[0]), str(name[1]))


# -- util/qemu-sockets.c, io/dns-resolver.c --------------------------------------------


def _ai_family(address: SocketAddr) -> int:
    """``inet_ai_family_from_address``."""
    v4, v6 = address.ipv4, address.ipv6
    if v4 is False and v6 is False:
        raise CoreError(M.IPV4_IPV6_BOTH_DISABLED)
    if v4 and v6:
        return socket.AF_INET6 if not address.host else socket.AF_UNSPEC
    if v6 or v4 is False:
        return socket.AF_INET6
    if v4 or v6 is False:
        return socket.AF_INET
    return socket.AF_UNSPEC


def _getaddrinfo(
    host: str, port: str, family: int, flags: int
) -> list[tuple[int, int, int, tuple[object, ...]]]:
    try:
        infos = socket.getaddrinfo(host or None, port or None, family, socket.SOCK_STREAM, 0, flags)
    except socket.gaierror as exc:
        raise CoreError(M.ADDRESS_RESOLUTION_FAILED.format(host, port, exc.strerror)) from None
    return [(f, t, p, a) for f, t, p, _, a in infos]


def open_listener(
    address: SocketAddr, *, backlog: int, socket_mode: int | None
) -> list[socket.socket]:
    """``qio_net_listener_open_sync``: every socket of one address, or raise."""
    if address.type == "unix":
        return [unix_listen(address.path, backlog, socket_mode)]
    if address.type == "fd":
        raise CoreError(M.FD_NOT_FOUND.format(address.name))
    if address.type == "vsock":
        raise CoreError(M.VSOCK_NOT_EMULATED)
    # qio_dns_resolver_lookup_sync_inet(): each result, numeric from now on.
    flags = socket.AI_PASSIVE
    if address.numeric:
        flags |= socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    resolved = _getaddrinfo(address.host, address.port, _ai_family(address), flags)
    socks: list[socket.socket] = []
    first: CoreError | None = None
    for _, _, _, sockaddr in resolved:
        host, port = socket.getnameinfo(
            sockaddr,  # type: ignore[arg-type]
            socket.NI_NUMERICHOST | socket.NI_NUMERICSERV,
        )
        try:
            socks.append(
                inet_listen(
                    SocketAddr(
                        "inet",
                        host=host,
                        port=port,
                        to=address.to,
                        ipv4=address.ipv4,
                        ipv6=address.ipv6,
                        numeric=True,
                        keep_alive=address.keep_alive,
                    ),
                    backlog,
                )
            )
        except CoreError as exc:
            first = first or exc
    if not socks:
        assert first is not None
        raise first
    return socks


def inet_listen(address: SocketAddr, backlog: int) -> socket.socket:
    """``inet_listen_saddr`` (port_offset 0)."""
    if address.keep_alive:
        raise CoreError(M.KEEP_ALIVE_PASSIVE)
    family = _ai_family(address)
    flags = socket.AI_PASSIVE
    if address.numeric:
        flags |= socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    infos = _getaddrinfo(address.host, address.port, family, flags)
    created = False
    last_errno = 0
    for fam, kind, proto, sockaddr in infos:
        port_min = int(sockaddr[1])  # type: ignore[call-overload]
        port_max = address.to if address.to is not None else port_min
        for p in range(port_min, port_max + 1):
            try:
                sock = socket.socket(fam, kind, proto)
            except OSError as exc:
                if p == port_min:
                    last_errno = exc.errno or 0
                    continue
                raise CoreError(
                    M.SOCKET_RECREATE_FAILED.format(os.strerror(exc.errno or 0))
                ) from None
            created = True
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                _try_bind(sock, address, fam, (sockaddr[0], p & 0xFFFF, *sockaddr[2:]))
            except OSError as exc:
                last_errno = exc.errno or 0
                sock.close()
                if exc.errno != errno.EADDRINUSE:
                    raise CoreError(M.SOCKET_BIND_FAILED.format(os.strerror(last_errno))) from None
                continue
            try:
                sock.listen(backlog)
            except OSError as exc:
                last_errno = exc.errno or 0
                sock.close()
                if exc.errno != errno.EADDRINUSE:
                    raise CoreError(
                        M.SOCKET_LISTEN_FAILED.format(os.strerror(last_errno))
                    ) from None
                continue
            sock.setblocking(False)
            return sock
    reason = os.strerror(last_errno)
    if created:
        raise CoreError(M.NO_AVAILABLE_PORT.format(reason))
    raise CoreError(M.SOCKET_CREATE_FAILED.format(reason))


def _try_bind(sock: socket.socket, address: SocketAddr, family: int, sockaddr: tuple) -> None:  # type: ignore[type-arg]
    """``try_bind``: IPv6 dual-stack unless one family was asked for."""
    v4, v6 = address.ipv4, address.ipv6
    v6only = 0 if (v4 is None and v6 is None) or (v4 and v6) else 1
    while True:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        try:
            sock.bind(sockaddr)
            return
        except OSError as exc:
            if family == socket.AF_INET6 and exc.errno == errno.EADDRINUSE and not v6only:
                v6only = 1
                continue
            raise


def unix_listen(path: str, backlog: int, socket_mode: int | None) -> socket.socket:
    """``unix_listen_saddr``, replacing only a stale socket (see the module doc)."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        raise CoreError(M.UNIX_SOCKET_CREATE_FAILED.format(os.strerror(exc.errno or 0))) from None
    generated = not path
    if generated:
        # QEMU: a fresh name from mkstemp() in the temporary directory.
        import tempfile  # (rare: not imported at every start)

        fd, path = tempfile.mkstemp(prefix="qemu-socket-", dir=tempfile.gettempdir())
        os.close(fd)
    if len(os.fsencode(path)) > SUN_PATH_MAX:
        sock.close()
        raise CoreError(
            M.UNIX_PATH_TOO_LONG.format(path), hint=M.UNIX_PATH_TOO_LONG_HINT.format(SUN_PATH_MAX)
        )
    try:
        st = os.lstat(path)
    except OSError:
        pass
    else:
        if not generated and not stat.S_ISSOCK(st.st_mode):
            sock.close()
            raise CoreError(M.UNIX_BIND_FAILED.format(path, M.UNIX_PATH_NOT_A_SOCKET))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    try:
        _bind_with_mode(sock, path, socket_mode)
    except OSError as exc:
        sock.close()
        raise CoreError(M.UNIX_BIND_FAILED.format(path, os.strerror(exc.errno or 0))) from None
    try:
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise CoreError(M.SOCKET_LISTEN_FAILED.format(os.strerror(exc.errno or 0))) from None
    sock.setblocking(False)
    return sock


def _bind_with_mode(sock: socket.socket, path: str, mode: int | None) -> None:
    if mode is None:
        sock.bind(path)
        return
    old = os.umask(0o777 & ~mode)
    try:
        sock.bind(path)
    finally:
        os.umask(old)


def connect_to(address: SocketAddr) -> socket.socket:
    """``socket_connect``: inet (``inet_connect_saddr``) or unix."""
    if address.type == "unix":
        if not address.path:
            raise CoreError(M.UNIX_CONNECT_NO_PATH)
        if len(os.fsencode(address.path)) > SUN_PATH_MAX:
            raise CoreError(M.UNIX_PATH_TOO_LONG.format(address.path))
        try:
            sock = connect_unix(address.path)
        except OSError as exc:
            raise CoreError(
                M.SOCKET_CONNECT_UNIX_FAILED.format(address.path, os.strerror(exc.errno or 0))
            ) from None
        return sock
    if not address.host or not address.port:
        raise CoreError(M.HOST_PORT_NOT_SPECIFIED)
    infos = _getaddrinfo(
        address.host, address.port, _ai_family(address), socket.AI_CANONNAME | socket.AI_ADDRCONFIG
    )
    failure = ""
    for fam, kind, proto, sockaddr in infos:
        try:
            sock = socket.socket(fam, kind, proto)
        except OSError as exc:
            failure = M.CONNECT_SOCKET_FAMILY_FAILED.format(int(fam), os.strerror(exc.errno or 0))
            continue
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            failure = M.SOCKET_CONNECT_INET_FAILED.format(
                address.host, address.port, os.strerror(exc.errno or 0)
            )
            continue
        return sock
    raise CoreError(failure)


# -- libspice-server (server/reds.cpp) ---------------------------------------------------


def _check_spice_certificates(server: SpiceServer) -> None:
    """``reds_init_ssl``: a certificate file that cannot be read fails as
    OpenSSL's loader does; the files' contents are not checked."""
    cert = server.x509_files[1]
    if os.access(cert, os.R_OK):
        return
    notes = [("warning", M.SPICE_WARN_CERTIFICATES.format(cert))]
    notes += [("warning", line) for line in M.SPICE_WARN_SSL_NO_FILE.split("\n")]
    raise DisplayStartError(M.SPICE_INIT_FAILED, notes)


def _spice_socket(
    server: SpiceServer, port: int, notes: list[tuple[str, str]], socket_mode: int | None
) -> socket.socket | None:
    """``reds_init_socket``: None (after its warning) when nothing bound."""
    if server.family == "unix":
        return _spice_unix_socket(server.addr, notes, socket_mode)
    family = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}.get(server.family, socket.AF_UNSPEC)
    try:
        infos = socket.getaddrinfo(
            server.addr or None,
            str(port),
            family,
            socket.SOCK_STREAM,
            0,
            socket.AI_PASSIVE | socket.AI_ADDRCONFIG,
        )
    except socket.gaierror as exc:
        notes.append(("warning", M.SPICE_WARN_GETADDRINFO.format(server.addr, port, exc.strerror)))
        return None
    for fam, kind, proto, _, sockaddr in infos:
        try:
            sock = socket.socket(fam, kind, proto)
        except OSError:
            continue
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        try:
            sock.bind(sockaddr)
        except OSError:
            sock.close()
            continue
        return _spice_listen(sock, notes)
    notes.append(("warning", M.SPICE_WARN_BIND.format(server.addr, port)))
    return None


def _spice_unix_socket(
    path: str, notes: list[tuple[str, str]], socket_mode: int | None
) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    reason = ""
    try:
        st = os.lstat(path)
    except OSError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            reason = M.UNIX_PATH_NOT_A_SOCKET
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
    if not reason:
        try:
            _bind_with_mode(sock, path[: SUN_PATH_MAX - 1], socket_mode)
        except OSError as exc:
            reason = os.strerror(exc.errno or 0)
    if reason:
        sock.close()
        notes.append(("plain", M.SPICE_PERROR_BIND.format(reason)))
        return None
    return _spice_listen(sock, notes)


def _spice_listen(sock: socket.socket, notes: list[tuple[str, str]]) -> socket.socket | None:
    try:
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        notes.append(("warning", M.SPICE_WARN_LISTEN.format(os.strerror(exc.errno or 0))))
        return None
    sock.setblocking(False)
    return sock
