"""Live: libvirt's capability probe and a libvirt domain's vCPUs, QEMU vs memdevd.

Real QEMU 7.2 and 10.0 and memdevd are started with the same command lines
and asked the same questions; the reply lines must be the same bytes.

* The probe: libvirt 9.0's probe command line with TCG
  (``-S -no-user-config -nodefaults -nographic -machine none,accel=tcg``)
  and its whole question set, in its order (as memdevd/targets/x86_64/data/*/probe.json
  lists it).  Not byte-compared, by design: ``query-version`` (memdevd names
  itself in ``package``), ``query-commands`` and ``query-qmp-schema``
  (memdevd offers a subset of QEMU's commands: its names must be QEMU's in
  QEMU's order, its schema entries QEMU's).
* The vCPUs of a libvirt-like domain (``-cpu qemu64`` or ``max``, ``-smp 1``
  and ``2`` with one NUMA cell): ``query-hotpluggable-cpus``,
  ``query-cpus-fast`` (without the host thread ids), and ``qom-list`` and
  ``qom-get`` of every property of every vCPU.
* Start-up errors and warnings about ``-cpu``, ``-smp`` and ``-numa cpus=``.

QEMU 10.0 loads every module for ``qom-list-types``; Debian 7.2's modules in
the compiled-in module directory make it abort, so it runs in a private
mount namespace with that directory hidden (memdevd/targets/x86_64/data/README.md), which
needs root and ``unshare``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memdevd.releases.recorded import Recording, recording
from memdevd.releases.table import get_release

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, qemu_binary


def x86_recording(version: str) -> Recording:
    """What was recorded from qemu-system-x86_64 for ``version``."""
    return recording("x86_64", get_release(version))


pytestmark = [pytest.mark.live_qemu, pytest.mark.slow]

PROBE_ARGV = ["-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=tcg"]
DOMAIN_ARGV = ["-S", "-no-user-config", "-nodefaults", "-display", "none"]
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/qemu"
OWN_ANSWERS = {"query-version", "query-commands", "query-qmp-schema"}
TIMEOUT = 30.0


def domain(model: str, cpus: int) -> list[str]:
    """libvirt 9.0's domain command line, as far as the vCPUs can tell."""
    return [
        *DOMAIN_ARGV,
        "-machine",
        "pc,usb=off,dump-guest-core=off",
        "-accel",
        "tcg",
        "-cpu",
        model,
        "-m",
        "size=1048576k,slots=16,maxmem=16777216k",
        "-smp",
        f"{cpus},sockets={cpus},cores=1,threads=1",
        "-object",
        '{"qom-type":"memory-backend-ram","id":"ram-node0","size":1073741824}',
        "-numa",
        f"node,nodeid=0,cpus=0-{cpus - 1},memdev=ram-node0",
    ]


class Monitor:
    """A QMP connection that returns reply lines verbatim (events skipped)."""

    def __init__(self, path: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(TIMEOUT)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.file = self.sock.makefile("rb")
        self.file.readline()
        self.raw("qmp_capabilities")

    def raw(self, command: str, arguments: Any = None) -> bytes:
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            line = self.file.readline()
            assert line, "the connection closed"
            if not line.startswith(b'{"event"'):
                return line

    def json(self, command: str, arguments: Any = None) -> Any:
        return json.loads(self.raw(command, arguments))

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def qemu_command(version: str, argv: list[str]) -> list[str]:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    if version == "7.2":
        return [binary, *argv]
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("QEMU 10.0 needs its module directory hidden: root and unshare")
    script = f'mount --bind {empty_dir()} {MODULE_DIR} && exec "$@"'
    hide = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    return [*hide, binary, *argv]


@functools.cache
def empty_dir() -> str:
    """An empty directory to mount over QEMU's module directory (one per run)."""
    path = tempfile.mkdtemp(prefix="memdevd-empty-")
    atexit.register(shutil.rmtree, path, True)
    return path


def memdevd_command(version: str, argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "memdevd", "-memdevd", f"version={version}", *argv]


def start(command: list[str], tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``command`` with a QMP socket in ``tmp`` (stderr to ``tmp/stderr``),
    returned once the socket exists or the process has exited."""
    path = str(tmp / "qmp.sock")
    with open(tmp / "stderr", "wb") as err:
        proc = subprocess.Popen(
            [*command, "-qmp", f"unix:{path},server=on,wait=off"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + TIMEOUT
        while proc.poll() is None and not os.path.exists(path):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, path


@contextlib.contextmanager
def running(command: list[str]) -> Iterator[tuple[Monitor, subprocess.Popen[bytes], Path]]:
    """The process of ``command`` plus a QMP socket, and a connection to it."""
    tmp = Path(tempfile.mkdtemp(prefix="memdevd-live-"))
    proc, path = start(command, tmp)
    try:
        if not os.path.exists(path):
            raise AssertionError((tmp / "stderr").read_text(errors="replace"))
        monitor = Monitor(path)
        try:
            yield monitor, proc, tmp / "stderr"
        finally:
            monitor.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def probe_answers(command: list[str], questions: list[tuple[str, Any]]) -> list[bytes]:
    with running(command) as (monitor, _, _):
        return [monitor.raw(c, a) for c, a in questions]


# --- the probe ---------------------------------------------------------------------


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_libvirt_probe_answers_like_qemu(version: str) -> None:
    questions = x86_recording(version).probe_questions("tcg")
    assert len(questions) == 53
    expected = probe_answers(qemu_command(version, PROBE_ARGV), questions)
    got = probe_answers(memdevd_command(version, PROBE_ARGV), questions)
    for (command, arguments), want, have in zip(questions, expected, got, strict=True):
        if command in OWN_ANSWERS:
            continue
        assert have == want, (command, arguments)
    answers = dict(zip([c for c, _ in questions], zip(expected, got, strict=True), strict=False))
    version_want, version_have = (json.loads(a)["return"] for a in answers["query-version"])
    assert version_have["qemu"] == version_want["qemu"]
    assert version_have["package"].startswith(version_want["package"] + " memdevd ")
    qemu_names = [c["name"] for c in json.loads(answers["query-commands"][0])["return"]]
    own_names = [c["name"] for c in json.loads(answers["query-commands"][1])["return"]]
    emulated = [n for n in own_names if not n.startswith("x-memdevd-")]
    assert emulated == [n for n in qemu_names if n in set(emulated)]
    qemu_schema = {e["name"]: e for e in json.loads(answers["query-qmp-schema"][0])["return"]}
    own_schema = json.loads(answers["query-qmp-schema"][1])["return"]
    for entry in own_schema:
        if entry["name"] in qemu_schema and not entry["name"].startswith("x-memdevd-"):
            assert entry == qemu_schema[entry["name"]], entry["name"]


# --- the vCPUs -------------------------------------------------------------------------


def vcpu_answers(command: list[str]) -> dict[str, Any]:
    """What libvirt reads about the vCPUs at domain start, and every property."""
    with running(command) as (monitor, _, _):
        out: dict[str, Any] = {
            "query-hotpluggable-cpus": monitor.raw("query-hotpluggable-cpus"),
        }
        fast = monitor.json("query-cpus-fast")["return"]
        out["thread-ids"] = [cpu.pop("thread-id") for cpu in fast]
        out["query-cpus-fast"] = fast
        listing = monitor.json("qom-list", {"path": "/machine/unattached"})["return"]
        out["vcpus"] = sorted(p["name"] for p in listing if p["type"].endswith("-x86_64-cpu>"))
        for cpu in fast:
            path = cpu["qom-path"]
            out[f"qom-list {path}"] = monitor.raw("qom-list", {"path": path})
            for prop in json.loads(out[f"qom-list {path}"])["return"]:
                name = prop["name"]
                out[f"qom-get {path} {name}"] = monitor.raw(
                    "qom-get", {"path": path, "property": name}
                )
        return out


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(("model", "cpus"), [("qemu64", 1), ("qemu64", 2), ("max", 1)])
def test_libvirt_domain_vcpus_like_qemu(version: str, model: str, cpus: int) -> None:
    argv = domain(model, cpus)
    expected = vcpu_answers(qemu_command(version, argv))
    got = vcpu_answers(memdevd_command(version, argv))
    assert len(got["thread-ids"]) == len(set(got["thread-ids"])) == cpus
    want_ids, got_ids = expected.pop("thread-ids"), got.pop("thread-ids")
    assert len(want_ids) == len(got_ids)
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        assert got[key] == want, key


# --- start-up errors and warnings -------------------------------------------------------


def startup_stderr(command: list[str]) -> tuple[int | None, str]:
    """Exit status (None: still running, it started) and stderr of a start-up."""
    tmp = Path(tempfile.mkdtemp(prefix="memdevd-live-"))
    try:
        proc, path = start(command, tmp)
        status = proc.poll()
        if status is None:
            # The socket listens before the board is built: a greeting says
            # start-up is over, a reset connection that it failed.
            try:
                Monitor(path).close()
            except OSError:
                status = proc.wait(TIMEOUT)
            else:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        text = (tmp / "stderr").read_text(errors="replace")
        return status, text.replace("memdevd: ", "qemu-system-x86_64: ")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


STARTUP_CASES = {
    "unknown-model": ["-cpu", "nosuch"],
    "host-without-kvm": ["-cpu", "host"],
    "none-with-cpu": ["-machine", "none", "-cpu", "qemu64"],
    "product": ["-smp", "4,sockets=3"],
    "maxcpus-below": ["-smp", "4,maxcpus=2"],
    "too-many": ["-machine", "pc", "-smp", "300"],
    "clusters": ["-smp", "2,clusters=2"],
    "zero": ["-smp", "cpus=2,sockets=0"],
    "numa-index": ["-m", "1G", "-smp", "2", "-numa", "node,cpus=0-2"],
    "numa-twice": ["-m", "1G", "-smp", "2", "-numa", "node,cpus=0", "-numa", "node,cpus=0"],
    "numa-partial": [
        "-m",
        "2G",
        "-smp",
        "3",
        "-object",
        "memory-backend-ram,id=a,size=1G",
        "-object",
        "memory-backend-ram,id=b,size=1G",
        "-numa",
        "node,memdev=a,cpus=1",
        "-numa",
        "node,memdev=b",
    ],
}


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", sorted(STARTUP_CASES))
def test_cpu_startup_messages_like_qemu(version: str, case: str) -> None:
    argv = [*DOMAIN_ARGV, "-accel", "tcg", *STARTUP_CASES[case]]
    expected = startup_stderr(qemu_command(version, argv))
    assert startup_stderr(memdevd_command(version, argv)) == expected
