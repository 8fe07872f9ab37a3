"""Whether KVM works on this host, for the tests that use it.

Owns the test suite's answer to "can this run under KVM here?", asked
before a test (or a part of one) that runs real QEMU or libvirt with KVM,
so that a host without /dev/kvm, without permission for it, or with a KVM
that is broken (nested virtualization that initialises but aborts when a
vCPU is reset: "failed to set MSR 0x10a", an assertion in kvm.c) skips that
part with the reason, and a host where KVM works runs it.

It is deliberately independent of memdevd's own probe
(``memdevd.app.settings.probe_kvm``, behind ``-memdevd kvm=auto``): a
regression there must fail the tests that compare it with real QEMU, never
turn into a skip here.  Two questions:

* :func:`kvm_device_problem`: can a user initialise KVM with a device, as
  QEMU's ``kvm_init()`` does (open read-write, ``KVM_GET_API_VERSION`` is
  12, ``KVM_CREATE_VM``)?  Run as that user in a fresh interpreter.
* :func:`qemu_kvm_problem`: does a real QEMU binary run a given command
  line under KVM (it answers ``query-kvm`` enabled and quits cleanly)?

``$MEMDEVD_KVM_DEVICE`` points both at another device path, so the three
host cases can be shown on one host (a missing path; ``/dev/null``, which
opens but answers no KVM ioctl).
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

KVM_DEVICE = os.environ.get("MEMDEVD_KVM_DEVICE", "/dev/kvm")

# What QEMU's kvm_init() does before it has a VM, in the same order.
_DEVICE_PROBE = r"""
import fcntl, os, sys
device = sys.argv[1]
try:
    fd = os.open(device, os.O_RDWR)
except OSError as exc:
    sys.exit(f"cannot open {device}: {exc.strerror}")
try:
    version = fcntl.ioctl(fd, 0xAE00, 0)  # KVM_GET_API_VERSION
except OSError as exc:
    sys.exit(f"{device}: KVM_GET_API_VERSION failed: {exc.strerror}")
if version != 12:
    sys.exit(f"{device}: KVM API version {version}, QEMU needs 12")
try:
    os.close(fcntl.ioctl(fd, 0xAE01, 0))  # KVM_CREATE_VM
except OSError as exc:
    sys.exit(f"{device}: KVM_CREATE_VM failed: {exc.strerror}")
"""


def _interpreter() -> str:
    """A Python another user can run (the tests' own may live under /root)."""
    system = "/usr/bin/python3"
    return system if os.access(system, os.X_OK) else sys.executable


def as_user(argv: Sequence[str], user: str | None, caps: tuple[str, ...] = ()) -> list[str]:
    """``argv`` run as ``user`` with its groups and the capabilities ``caps``
    (names as setpriv takes them, e.g. ``dac_override``); None or the
    current user: as is."""
    if user is None or pwd.getpwnam(user).pw_uid == os.geteuid():
        return list(argv)
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    keep = []
    if caps:
        wanted = ",".join(f"+{cap}" for cap in caps)
        keep = [f"--inh-caps={wanted}", f"--ambient-caps={wanted}"]
    return [setpriv, f"--reuid={user}", f"--regid={user}", "--init-groups", *keep, *argv]


@functools.cache
def kvm_device_problem(
    user: str | None = None, device: str = KVM_DEVICE, caps: tuple[str, ...] = ()
) -> str | None:
    """Why ``user`` (None: this process), with the capabilities ``caps``,
    cannot initialise KVM with ``device``, or None when it can."""
    if user is not None and os.geteuid() != 0 and pwd.getpwnam(user).pw_uid != os.geteuid():
        return f"cannot check KVM as {user} without root"
    try:
        done = subprocess.run(
            as_user([_interpreter(), "-I", "-c", _DEVICE_PROBE, device], user, caps),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"KVM check failed to run: {exc}"
    if done.returncode == 0:
        return None
    who = f" as {user}" if user is not None else ""
    return (done.stderr.strip().splitlines() or [f"status {done.returncode}"])[-1] + who


@functools.cache
def kvm_accessible(user: str | None = None, device: str = KVM_DEVICE) -> bool:
    """libvirt's own check (``virQEMUCapsKVMUsable``): may ``user`` open
    ``device`` read-write?  Access only; libvirt does not try the ioctls."""
    done = subprocess.run(
        as_user(["test", "-r", device, "-a", "-w", device], user),
        capture_output=True,
        timeout=60,
    )
    return done.returncode == 0


def _next_message(stream: BinaryIO) -> dict[str, object]:
    """The next QMP message that is not an event."""
    while True:
        line = stream.readline()
        if not line:
            raise ConnectionError("QEMU closed the QMP connection")
        message = json.loads(line)
        if "event" not in message:
            return dict(message)


def _execute(stream: BinaryIO, command: str) -> dict[str, object]:
    stream.write(json.dumps({"execute": command}).encode() + b"\n")
    stream.flush()
    return _next_message(stream)


@dataclass(frozen=True)
class KvmRun:
    """What an emulator did when asked ``query-kvm`` and told to ``quit``."""

    status: int | None  # exit status (negative: the signal), None: it hung
    printed: list[str]  # its stderr, line by line
    reply: dict[str, object] | None  # the reply to query-kvm, if it got that far
    failure: str | None  # why the QMP exchange broke off

    @property
    def kvm_enabled(self) -> bool:
        answer = (self.reply or {}).get("return")
        return isinstance(answer, dict) and answer.get("enabled") is True


def run_query_kvm(command: Sequence[str], sock_path: Path, timeout: float = 30.0) -> KvmRun:
    """Run ``command`` (an emulator serving QMP on ``sock_path``), ask it
    ``query-kvm``, then ``quit``; collect what it printed and how it ended.
    An emulator that exits before serving QMP is reported as it exited."""
    stderr_path = sock_path.with_name(sock_path.name + ".stderr")
    reply = None
    failure = None
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + timeout
        while not sock_path.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            try:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.settimeout(max(1.0, deadline - time.monotonic()))
                    # The socket file exists from bind(), before listen().
                    while True:
                        try:
                            sock.connect(str(sock_path))
                            break
                        except ConnectionRefusedError:
                            if proc.poll() is not None or time.monotonic() > deadline:
                                raise
                            time.sleep(0.02)
                    stream = sock.makefile("rwb")
                    _next_message(stream)  # the greeting
                    _execute(stream, "qmp_capabilities")
                    reply = _execute(stream, "query-kvm")
                    _execute(stream, "quit")
            except (OSError, ValueError) as exc:
                failure = str(exc)
        try:
            status: int | None = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            status = None
        printed = [line for line in stderr_path.read_text(errors="replace").splitlines() if line]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr_path.unlink(missing_ok=True)
        sock_path.unlink(missing_ok=True)
    return KvmRun(status, printed, reply, failure)


def qemu_argv(binary: str, argv: Sequence[str], sock_path: Path) -> list[str]:
    """``binary argv`` stopped, without devices or display, serving QMP on ``sock_path``."""
    qmp = f"unix:{sock_path},server=on,wait=off"
    return [binary, *argv, "-S", "-nodefaults", "-display", "none", "-qmp", qmp]


@functools.cache
def qemu_kvm_problem(
    binary: str,
    argv: tuple[str, ...],
    user: str | None = None,
    caps: tuple[str, ...] = (),
    timeout: float = 30.0,
) -> str | None:
    """Why real QEMU ``binary`` cannot run ``argv`` under KVM here, or None.

    ``argv`` names the accelerator (``-accel kvm``, ``-machine none,accel=kvm``);
    ``-S``, ``-nodefaults``, ``-display none`` and a QMP socket are added.
    QEMU, started as ``user`` with the capabilities ``caps``, must answer
    ``query-kvm`` with KVM enabled and exit 0 on ``quit``; anything else (it
    exits at start, falls back to TCG, aborts when it resets a vCPU) is the
    problem, with the last lines QEMU printed.
    """
    tmp = Path(tempfile.mkdtemp(prefix="memdevd-kvm-check-"))
    tmp.chmod(0o777)  # the QMP socket of a QEMU started as another user
    try:
        sock_path = tmp / "qmp.sock"
        command = as_user(qemu_argv(binary, argv, sock_path), user, caps)
        run = run_query_kvm(command, sock_path, timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if run.failure is None and run.status == 0 and run.kvm_enabled:
        return None
    if run.failure is None and run.status == 0:
        what = f"query-kvm answered {json.dumps(run.reply)}"
    elif run.status is None:
        what = f"QEMU did not exit within {timeout} s"
    elif run.status < 0:
        what = f"QEMU was killed by {signal.Signals(-run.status).name}"
    else:
        what = f"QEMU exited with status {run.status}"
    return "; ".join([what, *run.printed[-3:]])


#: The kinds of host :func:`in_kvm_namespace` shows a command.
HOST_KINDS: tuple[str, ...] = ("absent", "denied", "broken", "host")

# Runs "$@" in a private mount namespace whose /dev is a fresh tmpfs with
# the basic nodes and, by kind: no kvm (absent); the KVM device owned by
# nobody, mode 0600, with root's capabilities dropped so that open() fails
# with EACCES as for any user without access (denied); a node that opens but
# answers no KVM ioctl, /dev/null's numbers (broken); the real KVM device
# numbers, whatever this host's KVM does with them (host).
_NAMESPACE_SCRIPT = r"""
kind=$1; shift
mount -t tmpfs -o mode=755 memdevd-dev /dev || exit 125
mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9 &&
mkdir -m 1777 /dev/shm || exit 125
case $kind in
    absent) ;;
    denied) mknod -m 600 /dev/kvm c 10 232 && chown 65534:65534 /dev/kvm || exit 125
            exec setpriv --bounding-set=-all --inh-caps=-all "$@" ;;
    broken) mknod -m 666 /dev/kvm c 1 3 || exit 125 ;;
    host) mknod -m 600 /dev/kvm c 10 232 || exit 125 ;;
    *) exit 125 ;;
esac
exec "$@"
"""


def in_kvm_namespace(kind: str, argv: Sequence[str]) -> list[str]:
    """The command that runs ``argv`` on a host of ``kind`` (see :data:`HOST_KINDS`).

    Needs root (a mount namespace, mknod); :func:`kvm_namespace_problem`
    says whether it can run.  Exit status 125: the namespace could not be
    set up.
    """
    if kind not in HOST_KINDS:
        raise ValueError(f"unknown host kind {kind!r}")
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    return [unshare, "--mount", "--propagation", "private", "sh", "-c",
            _NAMESPACE_SCRIPT, "sh", kind, *argv]  # fmt: skip


@functools.cache
def kvm_namespace_problem() -> str | None:
    """Why :func:`in_kvm_namespace` cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (a private mount namespace with its own /dev)"
    for program in ("unshare", "setpriv", "mknod"):
        if shutil.which(program) is None:
            return f"{program} is not installed (util-linux, coreutils)"
    for kind in HOST_KINDS:
        done = subprocess.run(
            in_kvm_namespace(kind, ["true"]), capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            return f"cannot set up a /dev of kind {kind}: {done.stderr.strip()}"
    return None
