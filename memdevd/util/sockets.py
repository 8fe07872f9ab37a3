"""Blocking connects to host sockets, as ``util/qemu-sockets.c`` makes them.

``unix_connect_saddr`` and ``inet_connect_saddr`` are one function each in
QEMU, shared by chardevs, netdevs, displays and QMP monitors; here too: the
callers (machine/chardev, machine/net, app/display_sockets, qmp/server)
connect through these and word the failure with messages.py's
``SOCKET_CONNECT_UNIX_FAILED`` / ``SOCKET_CONNECT_INET_FAILED`` (the
``strerror`` of the errno these raise).  No error texts and no machine
knowledge here: this is the host side only.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from typing import Any

__all__ = ["connect_first", "connect_unix"]


def connect_unix(target: str | bytes) -> socket.socket:
    """A blocking stream socket connected to a UNIX path (bytes: an abstract
    or padded address); OSError, with the socket closed, when it fails."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(target)
    except OSError:
        sock.close()
        raise
    return sock


def connect_first(infos: Iterable[tuple[Any, ...]], timeout: float | None = None) -> socket.socket:
    """``inet_connect_saddr``'s loop: try each ``getaddrinfo`` answer in
    order, the first that connects wins; the last failure's OSError when
    none does (ECONNREFUSED when there was nothing to try)."""
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last or ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
