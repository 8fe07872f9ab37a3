"""Networking against real QEMU: what the scenarios cannot express.

tests/conformance/scenarios/net_* compare QMP transcripts and start-up
failures.  This module runs each command line on QEMU 7.2 and 10.0 and on
memdevd emulating the same release and compares what a management tool
reads besides: the warnings printed on stderr by a VM that starts
(``net_check_clients``), the help texts (``-netdev help``, ``-nic help``,
``model=help``) with their exit status, descriptors passed as libvirt
passes them (a real tap opened on ``/dev/net/tun``, a pipe that is no tap)
and a ``hostfwd=`` port another process holds.  Each started VM answers
``info network`` before it is told to quit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from tests.live_qemu import QEMU_VERSIONS, qemu_binary, qemu_command

pytestmark = pytest.mark.live_qemu

BASE = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg"]
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
#: where a test puts a passed descriptor (libvirt's are numbered alike)
PASSED_FD = 21


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: started (then told to quit)
    stdout: str
    stderr: str
    network: str


def _normalise(text: str) -> str:
    # The program name QEMU prints is its path's; memdevd's is "memdevd".
    text = re.sub(r"^(?:\S*qemu-system-x86_64|memdevd): ", "PROG: ", text, flags=re.M)
    # Generated netdev ids end in two digits QEMU draws at random.
    return re.sub(r"#net\d+", "#net<id>", text)


def _qmp(sock: socket.socket, buf: bytearray, execute: str, arguments: dict | None = None) -> dict:
    msg: dict = {"execute": execute}
    if arguments is not None:
        msg["arguments"] = arguments
    sock.sendall(json.dumps(msg).encode() + b"\n")
    while True:
        while b"\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        line, _, rest = bytes(buf).partition(b"\n")
        buf[:] = rest
        reply = json.loads(line)
        if "return" in reply or "error" in reply:
            return reply


def run(command: Sequence[str], argv: Sequence[str], pass_fds: Sequence[int] = ()) -> Outcome:
    """Run ``command ARGV`` with a QMP socket; ask ``info network`` if it starts."""
    with tempfile.TemporaryDirectory(prefix="memdevd-net-") as tmp:
        os.chmod(tmp, 0o777)  # a run as another user makes its socket here
        path = os.path.join(tmp, "qmp.sock")
        proc = subprocess.Popen(
            [*command, *BASE, *argv, "-qmp", f"unix:{path},server=on,wait=off"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=tuple(pass_fds),
        )
        try:
            sock = None
            deadline = time.monotonic() + 15
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    sock = socket.socket(socket.AF_UNIX)
                    sock.connect(path)
                    break
                except OSError:
                    sock = None
                    time.sleep(0.02)
            if sock is None:
                out, err = proc.communicate(timeout=15)
                return Outcome(proc.returncode, out.decode(), _normalise(err.decode()), "")
            buf = bytearray()
            try:
                with sock:
                    while b"\n" not in buf:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise ConnectionError("closed")
                        buf += chunk
                    buf[:] = bytes(buf).partition(b"\n")[2]
                    _qmp(sock, buf, "qmp_capabilities")
                    reply = _qmp(
                        sock, buf, "human-monitor-command", {"command-line": "info network"}
                    )
                    _qmp(sock, buf, "quit")
            except OSError:
                # It listened, then exited (a start-up error after the
                # monitor's socket was made).
                out, err = proc.communicate(timeout=15)
                return Outcome(proc.returncode, out.decode(), _normalise(err.decode()), "")
            out, err = proc.communicate(timeout=15)
            network = _normalise(reply.get("return", ""))
            return Outcome(None, out.decode(), _normalise(err.decode()), network)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def qemu(version: str) -> list[str]:
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} is not installed")
    return qemu_command(version, [])


def memdevd(version: str) -> list[str]:
    return [sys.executable, "-m", "memdevd", "-memdevd", f"version={version}"]


def same(real: Outcome, ours: Outcome) -> None:
    """``ours`` is ``real`` (7.2's abort after a tap whose vhost failed
    included: memdevd prints the same assertion and aborts too)."""
    assert ours == real


def compare(version: str, argv: Sequence[str], pass_fds: Sequence[int] = ()) -> Outcome:
    real = run(qemu(version), argv, pass_fds)
    ours = run(memdevd(version), argv, pass_fds)
    same(real, ours)
    return real


# --- a VM that starts: the warnings of net_check_clients -------------------------------

STARTS = {
    "nic-without-netdev": ["-machine", "pc", "-device", "e1000", "-netdev", "user,id=lonely"],
    "hub-without-nic": ["-machine", "pc", "-net", "user"],
    "hub-without-host": ["-machine", "pc", "-net", "nic"],
    "hub-port-without-peer": ["-machine", "pc", "-netdev", "hubport,id=h0,hubid=1"],
    "nic-model-not-on-board": ["-machine", "q35", "-nic", "user,model=nosuch"],
    "socket-connect-refused": ["-machine", "pc", "-netdev", "socket,id=s0,connect=127.0.0.1:1"],
    "ne2k-isa-on-q35": ["-machine", "q35", "-nic", "user,model=ne2k_isa"],
    "ne2k-isa-seven": ["-machine", "pc"] + ["-net", "nic,model=ne2k_isa"] * 7,
    "ne2k-isa-after-pci": ["-machine", "pc", "-nic", "user", "-nic", "user,model=ne2k_isa"],
    "nics-and-legacy": [
        "-machine", "pc", "-nic", "user,model=rtl8139", "-net", "nic,model=virtio",
        "-net", "user,id=u0", "-netdev", "socket,id=s0,listen=127.0.0.1:0",
        "-device", "virtio-net-pci,netdev=s0,mac=52:54:00:12:34:57",
    ],
}  # fmt: skip


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", list(STARTS))
def test_startup_output(version: str, case: str) -> None:
    compare(version, STARTS[case])


# --- help texts --------------------------------------------------------------------------

HELP = {
    "netdev-help": ["-netdev", "help"],
    "nic-help": ["-nic", "help"],
    "nic-model-help": ["-machine", "q35", "-nic", "user,model=help"],
    "net-nic-model-help": ["-machine", "pc", "-net", "nic,model=help"],
}


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", list(HELP))
def test_help(version: str, case: str) -> None:
    outcome = compare(version, HELP[case])
    assert outcome.status is not None  # it did not start a VM


# --- passt (11.1: listed by the help texts above; 7.2 and 10.0 have no such type) ---------

PASST = {
    "passt": ["-machine", "pc", "-netdev", "passt,id=p0"],
    "passt-path-missing": ["-machine", "pc", "-netdev", "passt,id=p0,path=/nonexistent/passt"],
    "passt-not-executable": ["-machine", "pc", "-netdev", "passt,id=p0,path=/etc/debian_version"],
    "passt-nic": ["-machine", "q35", "-nic", "passt"],
    "passt-bad-option": ["-machine", "pc", "-netdev", "passt,id=p0,bogus=1"],
    "passt-help": ["-machine", "pc", "-netdev", "passt,help"],
}


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", list(PASST))
def test_passt(version: str, case: str) -> None:
    """11.1 starts the passt program: one it cannot start is GLib's error,
    as memdevd says; with passt installed QEMU would start it (memdevd
    refuses by name), so the comparison needs a host without it."""
    if shutil.which("passt") is not None:
        pytest.skip("passt is installed here: QEMU would start it")
    outcome = compare(version, PASST[case])
    assert outcome.status is not None


# --- descriptors passed as libvirt passes them ---------------------------------------------


@contextlib.contextmanager
def passed(fd: int) -> Iterator[int]:
    """``fd`` placed at :data:`PASSED_FD` (inheritable) for the run."""
    try:
        os.dup2(fd, PASSED_FD, inheritable=True)
        yield PASSED_FD
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.close(PASSED_FD)


def tap(vnet_hdr: bool) -> int:
    if not os.path.exists("/dev/net/tun") or os.geteuid() != 0:
        pytest.skip("a tap needs /dev/net/tun and root")
    fd = os.open("/dev/net/tun", os.O_RDWR)
    flags = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if vnet_hdr else 0)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH14x", b"", flags))
    return fd


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("vnet_hdr", [True, False])
def test_tap_fd_as_libvirt_passes_it(version: str, vnet_hdr: bool) -> None:
    argv = [
        "-machine", "q35",
        "-netdev", json.dumps({"type": "tap", "fd": str(PASSED_FD), "id": "hostnet0"}),
        "-device", json.dumps(
            {"driver": "virtio-net-pci", "netdev": "hostnet0", "id": "net0",
             "mac": "52:54:00:6b:3c:12", "bus": "pcie.0", "addr": "0x3"}
        ),
    ]  # fmt: skip
    for command in (qemu(version), memdevd(version)):
        with passed(tap(vnet_hdr)) as fd:
            outcome = run(command, argv, [fd])
        assert outcome.status is None, outcome.stderr
        assert outcome.stderr == ""
        assert outcome.network == (
            "net0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:6b:3c:12\r\n"
            f" \\ hostnet0: index=0,type=tap,fd={PASSED_FD}\r\n"
        )


#: the network of the hand-written corpus entries (tests/corpus/handwritten)
CORPUS_TAPS = {
    "kata": (
        "tap,id=network-0,vhost=on,fds={fd}",
        "driver=virtio-net-pci,netdev=network-0,mac=02:42:ac:11:00:02,disable-modern=true,"
        "mq=on,vectors=4",
    ),
    "kata-novhost": (
        "tap,id=network-0,vhost=off,fds={fd}",
        "driver=virtio-net-pci,netdev=network-0,mac=02:42:ac:11:00:02,disable-modern=true,"
        "mq=on,vectors=4",
    ),
}


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", list(CORPUS_TAPS))
def test_corpus_passed_taps(version: str, case: str) -> None:
    netdev, device = CORPUS_TAPS[case]
    outcomes = []
    for command in (qemu(version), memdevd(version)):
        with passed(tap(True)) as fd:
            argv = ["-machine", "q35", "-netdev", netdev.format(fd=fd), "-device", device]
            outcomes.append(run(command, argv, [fd]))
    real, ours = outcomes
    same(real, ours)


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("vhost", ["on", "off"])
def test_corpus_tap_by_name(version: str, vhost: str) -> None:
    """Proxmox's: a tap QEMU creates itself (ifname=) and a script."""
    if not os.path.exists("/dev/net/tun") or os.geteuid() != 0:
        pytest.skip("a tap needs /dev/net/tun and root")
    # The name is this process's so that two test runs on one host (or two
    # xdist workers) never ask for the same tap.
    name = f"memdevd-{os.getpid() % 100000}"
    argv = [
        "-machine", "pc",
        "-netdev", f"type=tap,id=net0,ifname={name},script=/bin/true,"
        f"downscript=/bin/true,vhost={vhost}",
        "-device", "virtio-net-pci,mac=BC:24:11:2E:5F:01,netdev=net0,bus=pci.0,addr=0x12,"
        "id=net0,rx_queue_size=1024,tx_queue_size=256,bootindex=102",
    ]  # fmt: skip
    real = run(qemu(version), argv)
    tap_released(name)
    ours = run(memdevd(version), argv)
    tap_released(name)
    same(real, ours)


def tap_released(name: str) -> None:
    """Wait until the kernel has let go of tap ``name``: a tap with vhost is
    released after its process has exited (vhost's worker drops the last
    reference), and on a loaded host the next open of the name would find it
    busy."""
    deadline = time.monotonic() + 10
    while os.path.exists(f"/sys/class/net/{name}") and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_corpus_user_with_hostfwd(version: str) -> None:
    """virt-install-manual-q35's: a user network forwarding a host port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    compare(
        version,
        [
            "-machine", "q35",
            "-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:22",
            "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56",
        ],
    )  # fmt: skip


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(
    "option",
    [
        "tap,id=t0,fd={fd}",
        "tap,id=t0,fd={fd},vhost=on",
        "tap,id=t0,fds={fd}:{fd}",
        "socket,id=s0,fd={fd}",
    ],
)
def test_passed_fd_that_does_not_fit(version: str, option: str) -> None:
    outcomes = []
    for command in (qemu(version), memdevd(version)):
        read_end, write_end = os.pipe()
        with passed(read_end) as fd:
            outcomes.append(run(command, ["-netdev", option.format(fd=fd)], [fd]))
        os.close(write_end)
    real, ours = outcomes
    assert real.status == 1
    assert ours == real


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_hostfwd_port_in_use(version: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        outcome = compare(version, ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22"])
    assert outcome.status == 1
    assert "Could not set up host forwarding rule" in outcome.stderr


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(
    "option",
    [
        "tap,id=t0,ifname=memdevd-x0,script=no,downscript=no",
        "tap,id=t0",
        "bridge,id=b0,br=br0",
    ],
)
def test_taps_without_privileges(version: str, option: str) -> None:
    """As a user who may not open /dev/net/tun (libvirt's session mode)."""
    if os.geteuid() != 0:
        pytest.skip("running as another user needs root")
    command = qemu(version)
    real = run([*command[:-1], *NOBODY, command[-1]], ["-netdev", option])
    ours = run([*NOBODY, *memdevd(version)], ["-netdev", option])
    assert real.status == 1
    assert ours == real


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["libvirt/nics-q35-7.2", "libvirt/nics-q35-10.0"])
def test_libvirt_nics_corpus_without_its_pci_bridge(entry: str) -> None:
    """The corpus's NIC domains (tests/corpus/libvirt/nics-*) as QEMU runs
    them, but with the NIC behind the pcie-pci-bridge on pcie.0: memdevd has
    no PCI bridges yet (the entries stay PENDING in test_corpus_live.py for
    that alone); everything else, taps passed by fd included, must match."""
    from dataclasses import replace as replaced

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    sys.path.insert(0, os.path.dirname(__file__))
    from corpus_runner import load_entries, run_all
    from test_corpus_live import comparable, first_difference

    (original,) = [e for e in load_entries() if e.name == entry]
    argv: list[str] = []
    items = original.argv
    for i, arg in enumerate(items):
        if "pcie-pci-bridge" in arg or (arg == "-device" and "pcie-pci-bridge" in items[i + 1]):
            continue
        argv.append(arg.replace('"bus":"pci.4","addr":"0x1"', '"bus":"pcie.0","addr":"0x9"'))
    data = {**original.data, "argv": argv}
    moved = replaced(original, data=data)
    outcomes = run_all([moved], QEMU_VERSIONS, 4)
    for release in QEMU_VERSIONS:
        real = outcomes[(moved.name, release, "qemu")]
        ours = outcomes[(moved.name, release, "memdevd")]
        if real.skipped:
            continue
        want, have = comparable(real, ours)
        assert have == want, f"{release}: {first_difference(want, have)}"
