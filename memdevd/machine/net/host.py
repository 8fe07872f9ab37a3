"""What the network backends ask of the host, asked as QEMU asks it.

A netdev's host side is the part a management tool sees fail: a tap fd
that is not open, ``/dev/net/tun`` missing, a port already bound, a
helper's ACL.  memdevd makes the same system calls QEMU makes for those
checks (open, ``fcntl``, ``ioctl(TUNGETIFF)``, ``TUNSETIFF``, ``bind``,
``listen``, ``connect``) so the answer is the host's, and it keeps what they
open as QEMU keeps it (a tap device exists while its netdev does, a
listening port stays bound).  It never runs a program (network scripts,
``qemu-bridge-helper``, ``smbd``): their outcome is decided from what
``execv`` would find (docs/divergences.md, "Network backends"), and no
packet is ever read from a guest or written to the host.

Descriptors given by number (``fd=N``) are the ones the process inherited
(``libvirt`` passes its taps that way): :func:`note_inherited_fds` records
them when the process starts, before memdevd opens anything of its own, so
a number naming one of memdevd's own sockets is an fd that is not open, as
it would be for the QEMU being emulated.
"""

from __future__ import annotations

import contextlib
import errno as E
import fcntl
import os
import socket
import struct
from typing import Final

#: linux/if_tun.h
TUNSETIFF: Final = 0x400454CA
TUNGETIFF: Final = 0x800454D2
TUNGETFEATURES: Final = 0x800454CF
TUNSETSNDBUF: Final = 0x400454D4
TUNSETVNETHDRSZ: Final = 0x400454D8
IFF_TAP: Final = 0x0002
IFF_NO_PI: Final = 0x1000
IFF_ONE_QUEUE: Final = 0x2000
IFF_VNET_HDR: Final = 0x4000
IFF_MULTI_QUEUE: Final = 0x0100
IFNAMSIZ: Final = 16
PATH_NET_TUN: Final = "/dev/net/tun"
#: linux/vhost.h VHOST_GET_FEATURES (_IOR(0xAF, 0x00, __u64))
VHOST_GET_FEATURES: Final = 0x8008AF00
#: sizeof(struct virtio_net_hdr)
VIRTIO_NET_HDR_LEN: Final = 10


def inherited_fds() -> set[int]:
    """The descriptors a number may name (stdio when nothing was recorded:
    :func:`memdevd.machine.net.note_inherited_fds`)."""
    from memdevd.machine import net

    if net.inherited is None:
        net.inherited = {0, 1, 2}
    return net.inherited


def adopt_fd(fd: int) -> None:
    """``fd`` may be named by number from now on (a test gives one)."""
    inherited_fds().add(fd)


def _is_open(fd: int) -> bool:
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        return False
    return True


def is_passed(fd: int) -> bool:
    return fd in inherited_fds() and _is_open(fd)


def close_fd(fd: int) -> None:
    """``close(fd)`` of a descriptor QEMU owns now (stdio is left open)."""
    inherited_fds().discard(fd)
    if fd > 2:
        with contextlib.suppress(OSError):
            os.close(fd)


def set_nonblocking(fd: int) -> int:
    """``g_unix_set_fd_nonblocking``: 0 or the errno."""
    if not is_passed(fd):
        return E.EBADF
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    except OSError as exc:
        return exc.errno or E.EINVAL
    return 0


def tun_flags(fd: int) -> tuple[int, int]:
    """``ioctl(fd, TUNGETIFF)``: (0 or errno, the interface's flags)."""
    if not is_passed(fd) and fd not in _own:
        return E.EBADF, 0
    buf = bytearray(40)
    try:
        fcntl.ioctl(fd, TUNGETIFF, buf)
    except OSError as exc:
        return exc.errno or E.EINVAL, 0
    return 0, struct.unpack_from("H", buf, IFNAMSIZ)[0]


def tun_set_sndbuf(fd: int, size: int) -> int:
    """``ioctl(fd, TUNSETSNDBUF)``: 0 or the errno."""
    try:
        fcntl.ioctl(fd, TUNSETSNDBUF, struct.pack("i", size))
    except OSError as exc:
        return exc.errno or E.EINVAL
    return 0


def tun_name(fd: int) -> str:
    buf = bytearray(40)
    try:
        fcntl.ioctl(fd, TUNGETIFF, buf)
    except OSError:
        return ""
    return bytes(buf[:IFNAMSIZ]).split(b"\0", 1)[0].decode(errors="replace")


def socket_type(fd: int) -> tuple[int, int]:
    """``getsockopt(fd, SOL_SOCKET, SO_TYPE)``: (0 or errno, type)."""
    if not is_passed(fd):
        return E.EBADF, 0
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError as exc:
        return exc.errno or E.ENOTSOCK, 0
    try:
        return 0, sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
    except OSError as exc:
        return exc.errno or E.ENOTSOCK, 0
    finally:
        sock.close()


# Descriptors memdevd opened for a netdev (taps, vhost devices).
_own: set[int] = set()


def open_tun(
    ifname: str, vnet_hdr: bool, vnet_hdr_required: bool, mq_required: bool
) -> tuple[int, str, bool, str]:
    """``tap_open`` (tap-linux.c): (fd, interface name, vnet_hdr, warning).

    Raises ``TunFailure`` with QEMU's step and errno where it fails.
    """
    try:
        fd = os.open(PATH_NET_TUN, os.O_RDWR)
    except OSError as exc:
        raise TunFailure("open", exc.errno or E.EIO) from None
    warning = ""
    features_buf = bytearray(4)
    try:
        fcntl.ioctl(fd, TUNGETFEATURES, features_buf)
        features = struct.unpack("I", features_buf)[0]
    except OSError as exc:
        warning = os.strerror(exc.errno or E.EINVAL)
        features = 0
    flags = IFF_TAP | IFF_NO_PI
    if features & IFF_ONE_QUEUE:
        flags |= IFF_ONE_QUEUE
    if vnet_hdr:
        vnet_hdr = bool(features & IFF_VNET_HDR)
        if vnet_hdr:
            flags |= IFF_VNET_HDR
        if vnet_hdr_required and not vnet_hdr:
            os.close(fd)
            raise TunFailure("vnet_hdr", 0)
    if mq_required:
        if not features & IFF_MULTI_QUEUE:
            os.close(fd)
            raise TunFailure("multiqueue", 0)
        flags |= IFF_MULTI_QUEUE
    name = (ifname or "tap%d").encode()[: IFNAMSIZ - 1]
    ifr = struct.pack(f"{IFNAMSIZ}sH22x", name, flags)
    try:
        out = fcntl.ioctl(fd, TUNSETIFF, ifr)
    except OSError as exc:
        os.close(fd)
        raise TunFailure("configure", exc.errno or E.EINVAL, name.decode()) from None
    got = out[:IFNAMSIZ].split(b"\0", 1)[0].decode(errors="replace")
    os.set_blocking(fd, False)
    _own.add(fd)
    return fd, got, vnet_hdr, warning


def close_own(fd: int) -> None:
    """Close a descriptor :func:`open_tun` or :func:`open_device` opened."""
    if fd in _own:
        _own.discard(fd)
        with contextlib.suppress(OSError):
            os.close(fd)


class TunFailure(Exception):
    """Where ``tap_open`` failed: ``step`` (open, vnet_hdr, multiqueue,
    configure), the errno and the interface name it asked for."""

    def __init__(self, step: str, errno: int, ifname: str = "") -> None:
        super().__init__(step)
        self.step = step
        self.errno = errno
        self.ifname = ifname


def open_device(path: str, flags: int = os.O_RDWR) -> tuple[int, int]:
    """``open(path)``: (fd or -1, 0 or errno); the fd is memdevd's to close."""
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return -1, exc.errno or E.EIO
    _own.add(fd)
    return fd, 0


def vhost_features(fd: int) -> int:
    """``ioctl(fd, VHOST_GET_FEATURES)``: 0 or the errno."""
    buf = bytearray(8)
    try:
        fcntl.ioctl(fd, VHOST_GET_FEATURES, buf)
    except OSError as exc:
        return exc.errno or E.EINVAL
    return 0


def executable(path: str) -> bool:
    """Whether ``execv(path, ...)`` would start a program (a network script)."""
    return os.path.isfile(path) and os.access(path, os.X_OK)


def interface_exists(name: str) -> bool:
    try:
        return socket.if_nametoindex(name) > 0
    except OSError:
        return False


def is_bridge(name: str) -> bool:
    return os.path.isdir(f"/sys/class/net/{name}/bridge")


def read_text(path: str) -> str | None:
    """A configuration file's text, or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None
