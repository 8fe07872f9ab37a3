"""Set up the process environment of one corpus run, then exec the emulator.

Run by ``corpus_runner`` as ``python -I corpus_exec.py SPEC -- PROGRAM ARG...``
for real QEMU and memdevd alike, so that both see the same host:

* ``"net": true`` -- a private network namespace with ``lo`` up: the taps
  created below, the taps QEMU creates itself (``-netdev tap,ifname=...``)
  and the VNC/SPICE ports exist only there and no two runs collide;
* ``"mask": [[EMPTY, DIR]]`` -- a private mount namespace with ``EMPTY``
  bound over ``DIR`` (QEMU 10.0 must not see Debian 7.2's module directory);
* ``"fds": [{"fd": N, "kind": ...}]`` -- descriptors placed at fixed numbers
  before the exec, standing in for those libvirt or a manager passes:
  ``unix-listen`` (a listening unix socket at ``path``: libvirt's monitor
  and server chardevs) and ``tap`` (a tap device opened on /dev/net/tun with
  ``IFF_TAP|IFF_NO_PI`` and, for ``vnet_hdr``, ``IFF_VNET_HDR``, as libvirt
  opens them; it lives in the run's network namespace).

Standard library only, nothing imported from the test suite: it starts
before every QEMU and memdevd of the corpus harness and must start fast.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000


def fail(message: str) -> None:
    sys.stderr.write(f"corpus_exec: {message}\n")
    sys.exit(125)


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        fail(f"{what}: {os.strerror(err)}")


def lo_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def place(fd: int, target: int) -> None:
    if fd != target:
        os.dup2(fd, target, inheritable=True)
        os.close(fd)
    else:
        os.set_inheritable(fd, True)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        fail("usage: corpus_exec.py SPEC -- PROGRAM ARG...")
    spec = json.loads(argv[0])
    program, args = argv[2], argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    flags = (CLONE_NEWNET if spec.get("net") else 0) | (CLONE_NEWNS if spec.get("mask") else 0)
    if flags:
        check(libc.unshare(flags), "unshare")
    if spec.get("mask"):
        check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        for src, dst in spec["mask"]:
            check(libc.mount(src.encode(), dst.encode(), None, MS_BIND, None), f"mount {dst}")
    if spec.get("net"):
        lo_up()
    for item in spec.get("fds", []):
        kind = item["kind"]
        if kind == "unix-listen":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(item["path"])
            s.listen(8)
            place(s.detach(), item["fd"])
        elif kind == "tap":
            tun = os.open("/dev/net/tun", os.O_RDWR)
            mode = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if item.get("vnet_hdr") else 0)
            try:
                fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH14x", b"", mode))
            except OSError as exc:
                fail(f"TUNSETIFF: {exc.strerror}")
            place(tun, item["fd"])
        else:
            fail(f"unknown fd kind {kind!r}")
    try:
        os.execv(program, [program, *args])
    except OSError as exc:
        fail(f"exec {program}: {exc.strerror}")


if __name__ == "__main__":
    main(sys.argv[1:])
