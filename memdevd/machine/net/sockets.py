"""Host sockets as ``util/qemu-sockets.c`` makes them, with its texts.

The stream and dgram netdevs take a ``SocketAddress`` (inet, unix or fd);
listening, connecting and naming an address (``socket_uri``, the
``SocketAddress`` of an event) follow qemu-sockets.c.  A :class:`Handle`
holds a socket for a backend: a snapshot of the machine shares it (the host
has one socket, whatever the copies).
"""

from __future__ import annotations

import errno as E
import os
import socket
from typing import Any

from memdevd import messages as M
from memdevd.machine.net import host
from memdevd.util.sockets import connect_unix


class SockError(Exception):
    """A qemu-sockets.c error: its text, and a hint printed after it."""

    def __init__(self, text: str, hint: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.hint = hint


def strerror(errno: int) -> str:
    return os.strerror(errno)


class Handle:
    """A socket a backend owns; shared, never copied, by machine snapshots."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()

    def __deepcopy__(self, memo: dict[int, Any]) -> Handle:
        return self

    @property
    def closed(self) -> bool:
        return self.sock.fileno() < 0

    def close(self) -> None:
        self.sock.close()


def _family(addr: dict[str, Any]) -> int:
    """``inet_ai_family_from_address``."""
    has4, has6 = "ipv4" in addr, "ipv6" in addr
    v4, v6 = bool(addr.get("ipv4")), bool(addr.get("ipv6"))
    if has4 and has6 and not v4 and not v6:
        raise SockError(M.IPV4_IPV6_BOTH_DISABLED)
    if v4 and v6:
        return socket.AF_UNSPEC
    if v6 or (has4 and not v4):
        return socket.AF_INET6
    if v4 or (has6 and not v6):
        return socket.AF_INET
    return socket.AF_UNSPEC


def _gai_error(exc: socket.gaierror) -> str:
    return str(exc.strerror or exc)


def inet_listen(addr: dict[str, Any], backlog: int) -> Handle:
    """``inet_listen_saddr`` (no port offset)."""
    if addr.get("keep-alive"):
        raise SockError(M.KEEP_ALIVE_PASSIVE)
    family = _family(addr)
    flags = socket.AI_PASSIVE
    if addr.get("numeric"):
        flags |= socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    hostname = str(addr["host"])
    port = str(addr["port"])
    try:
        infos = socket.getaddrinfo(
            hostname or None, port or None, family, socket.SOCK_STREAM, 0, flags
        )
    except socket.gaierror as exc:
        raise SockError(
            M.ADDRESS_RESOLUTION_FAILED.format(hostname, port, _gai_error(exc))
        ) from None
    created = False
    last = 0
    for fam, stype, proto, _, sockaddr in infos:
        port_min = int(sockaddr[1])
        port_max = int(addr["to"]) if "to" in addr else port_min
        for p in range(port_min, port_max + 1):
            try:
                sock = socket.socket(fam, stype, proto)
            except OSError as exc:
                last = exc.errno or E.EINVAL
                if p == port_min:
                    continue
                raise SockError(M.SOCKET_RECREATE_FAILED.format(strerror(last))) from None
            created = True
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                # try_bind(): both protocols on one socket unless one is off
                v6only = 1 if (addr.get("ipv6") and not addr.get("ipv4", True)) else 0
                if "ipv4" in addr and not addr["ipv4"]:
                    v6only = 1
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
            try:
                sock.bind((sockaddr[0], p, *sockaddr[2:]))
            except OSError as exc:
                sock.close()
                last = exc.errno or E.EINVAL
                if last != E.EADDRINUSE:
                    raise SockError(M.SOCKET_BIND_FAILED.format(strerror(last))) from None
                continue
            try:
                sock.listen(backlog)
            except OSError as exc:
                sock.close()
                last = exc.errno or E.EINVAL
                if last != E.EADDRINUSE:
                    raise SockError(M.SOCKET_LISTEN_FAILED.format(strerror(last))) from None
                continue
            sock.setblocking(False)
            return Handle(sock)
    text = M.NO_AVAILABLE_PORT if created else M.SOCKET_CREATE_FAILED
    raise SockError(text.format(strerror(last or E.EADDRINUSE)))


def unix_listen(addr: dict[str, Any], backlog: int) -> Handle:
    """``unix_listen_saddr``."""
    path = str(addr["path"])
    abstract = bool(addr.get("abstract"))
    limit = 107 if abstract else 108
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if len(path.encode()) > limit:
        sock.close()
        raise SockError(M.UNIX_PATH_TOO_LONG.format(path), M.UNIX_PATH_TOO_LONG_HINT.format(limit))
    if not abstract:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            sock.close()
            raise SockError(M.SOCKET_UNLINK_FAILED.format(path, strerror(exc.errno or 0))) from None
    target: str | bytes = path
    if abstract:
        target = b"\0" + path.encode()
        if not addr.get("tight", True):
            target = target.ljust(108, b"\0")
    try:
        sock.bind(target)
    except OSError as exc:
        sock.close()
        raise SockError(M.UNIX_BIND_FAILED.format(path, strerror(exc.errno or 0))) from None
    try:
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise SockError(M.SOCKET_LISTEN_FAILED.format(strerror(exc.errno or 0))) from None
    sock.setblocking(False)
    return Handle(sock)


def unix_connect(addr: dict[str, Any]) -> Handle:
    """``unix_connect_saddr``."""
    path = str(addr["path"])
    abstract = bool(addr.get("abstract"))
    limit = 107 if abstract else 108
    if len(path.encode()) > limit:
        raise SockError(M.UNIX_PATH_TOO_LONG.format(path), M.UNIX_PATH_TOO_LONG_HINT.format(limit))
    target: str | bytes = path
    if abstract:
        target = b"\0" + path.encode()
        if not addr.get("tight", True):
            target = target.ljust(108, b"\0")
    try:
        sock = connect_unix(target)
    except OSError as exc:
        raise SockError(
            M.SOCKET_CONNECT_UNIX_FAILED.format(path, strerror(exc.errno or 0))
        ) from None
    sock.setblocking(False)
    return Handle(sock)


def inet_connect_start(addr: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``inet_parse_connect_saddr``: the addresses to try, in order."""
    family = _family(addr)
    hostname, port = str(addr["host"]), str(addr["port"])
    flags = socket.AI_CANONNAME | socket.AI_ADDRCONFIG | socket.AI_V4MAPPED
    try:
        return socket.getaddrinfo(hostname, port, family, socket.SOCK_STREAM, 0, flags)
    except socket.gaierror as exc:
        raise SockError(
            M.ADDRESS_RESOLUTION_FAILED.format(hostname, port, _gai_error(exc))
        ) from None


def connect_nonblocking(info: tuple[Any, ...]) -> tuple[Handle | None, int]:
    """Start connecting to one address: (handle, 0 connected / EINPROGRESS),
    or (None, errno)."""
    fam, stype, proto, _, sockaddr = info
    try:
        sock = socket.socket(fam, stype, proto)
    except OSError as exc:
        return None, exc.errno or E.EINVAL
    sock.setblocking(False)
    err = sock.connect_ex(sockaddr)
    if err not in (0, E.EINPROGRESS):
        sock.close()
        return None, err
    return Handle(sock), err


def pending_error(handle: Handle) -> int:
    """A non-blocking connect's outcome: 0 or the errno (SO_ERROR)."""
    try:
        return handle.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    except OSError as exc:
        return exc.errno or E.EINVAL


def sockaddr_to_address(family: int, sockaddr: Any) -> dict[str, Any]:
    """``socket_sockaddr_to_address``: a SocketAddress as events carry it."""
    if family in (socket.AF_INET, socket.AF_INET6):
        hostname = str(sockaddr[0])
        out: dict[str, Any] = {"type": "inet", "host": hostname, "port": str(sockaddr[1])}
        out["ipv4" if family == socket.AF_INET else "ipv6"] = True
        return out
    if isinstance(sockaddr, bytes):
        if sockaddr[:1] == b"\0":
            name = sockaddr[1:].decode(errors="replace")
            return {
                "type": "unix",
                "path": name,
                "abstract": True,
                "tight": len(sockaddr) < 108,
            }
        sockaddr = sockaddr.decode(errors="replace")
    return {"type": "unix", "path": str(sockaddr)}


def local_address(handle: Handle) -> dict[str, Any]:
    return sockaddr_to_address(handle.sock.family, handle.sock.getsockname())


def remote_address(handle: Handle) -> dict[str, Any]:
    return sockaddr_to_address(handle.sock.family, handle.sock.getpeername())


def socket_uri(addr: dict[str, Any]) -> str:
    """``socket_uri``."""
    kind = addr.get("type")
    if kind == "inet":
        return f"tcp:{addr['host']}:{addr['port']}"
    if kind == "unix":
        return f"unix:{addr['path']}"
    if kind == "fd":
        return f"fd:{addr['str']}"
    if kind == "vsock":
        return f"vsock:{addr['cid']}:{addr['port']}"
    return "unknown address type"


def fd_socket(fdstr: str, at_startup: bool) -> Handle:
    """``socket_get_fd``: a passed descriptor that must be a socket."""
    if not at_startup:
        raise SockError(M.FD_NOT_FOUND.format(fdstr))
    from memdevd.util.cutils import qemu_strtoi64

    err, fd, _ = qemu_strtoi64(fdstr, 10, want_end=False)
    if err or not -(1 << 31) <= fd < (1 << 31):
        raise SockError(M.SOCKET_PARSE_FD.format(fdstr, strerror(-err or E.ERANGE)))
    if not host.is_passed(fd):
        raise SockError(M.SOCKET_FD_NOT_SOCKET.format(fdstr))
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        raise SockError(M.SOCKET_FD_NOT_SOCKET.format(fdstr)) from None
    host.inherited_fds().discard(fd)
    return Handle(sock)
