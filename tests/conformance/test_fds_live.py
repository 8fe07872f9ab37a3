"""Live: descriptors passed to QEMU and memdevd: SCM_RIGHTS on the QMP
socket (getfd, closefd, add-fd), the fd sets (remove-fd, query-fdsets) and
``-add-fd``, on each release.

The descriptors are each process's own, so their numbers are left out of
the comparison; everything else (ids, order, opaque strings, errors, what
remove-fd leaves while the VM is paused or running) must be the same.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, memdevd_command, qemu_command, runnable, send_with_fds

pytestmark = pytest.mark.live_qemu

COMMON = ["-machine", "q35", "-display", "none", "-nodefaults", "-accel", "tcg"]
#: (request, how many descriptors go with it)
Step = tuple[dict[str, object], int]


def _norm(text: str) -> str:
    text = re.sub(r'"fd": \d+', '"fd": N', text)
    return re.sub(r"^memdevd:", "qemu-system-x86_64:", text, flags=re.M)


def _session(path: str, steps: Sequence[Step]) -> list[str]:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        stream = s.makefile("rb")
        stream.readline()
        out = []
        for request, count in [({"execute": "qmp_capabilities"}, 0), *steps]:
            send_with_fds(s, json.dumps(request).encode() + b"\n", count)
            line = stream.readline()
            while line.startswith(b'{"timestamp"'):
                line = stream.readline()
            out.append(_norm(line.decode().strip()))
        stream.close()
        return out[1:]


def _run(
    cmd: list[str], path: str, sessions: Sequence[Sequence[Step]], fds: Sequence[int] = ()
) -> list[str]:
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=fds,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(path)
                break
            except OSError:
                if proc.poll() is not None:
                    assert proc.stderr is not None
                    return [f"exit {proc.returncode}", _norm(proc.stderr.read().decode())]
                assert time.monotonic() < deadline
                time.sleep(0.05)
        out = []
        for steps in sessions:
            out += _session(path, steps)
            time.sleep(0.2)  # the monitor's close is handled
        return out
    finally:
        proc.kill()
        proc.wait()


def _both(
    version: str, argv: list[str], sessions: Sequence[Sequence[Step]], fds: Sequence[int] = ()
) -> tuple[list[str], list[str]]:
    with tempfile.TemporaryDirectory(prefix="memdevd-fds-") as tmp:
        qmp = "-qmp", "unix:{},server=on,wait=off"
        q = f"{tmp}/q"
        qemu = _run(qemu_command(version, [*argv, qmp[0], qmp[1].format(q)]), q, sessions, fds)
        m = f"{tmp}/m"
        ours = _run(memdevd_command(version, [*argv, qmp[0], qmp[1].format(m)]), m, sessions, fds)
    return qemu, ours


def _cmd(name: str, **args: object) -> dict[str, object]:
    return {"execute": name, "arguments": args} if args else {"execute": name}


MONITOR_FDS: list[Step] = [
    (_cmd("getfd", fdname="a"), 0),
    (_cmd("getfd", fdname="a"), 1),
    (_cmd("getfd", fdname="1a"), 1),
    (_cmd("getfd", fdname="a"), 2),
    (_cmd("closefd", fdname="a"), 0),
    (_cmd("closefd", fdname="a"), 0),
    (_cmd("add-fd"), 0),
    (_cmd("add-fd", opaque="x"), 1),
    (_cmd("add-fd", **{"fdset-id": 3}), 1),
    (_cmd("add-fd", **{"fdset-id": 3, "opaque": "y"}), 1),
    (_cmd("add-fd", **{"fdset-id": -1}), 1),
    (_cmd("add-fd"), 1),
    (_cmd("query-fdsets"), 0),
    (_cmd("remove-fd", **{"fdset-id": 9}), 0),
    (_cmd("remove-fd", **{"fdset-id": 3, "fd": 999}), 0),
    (_cmd("remove-fd", **{"fdset-id": 1}), 0),
    (_cmd("query-fdsets"), 0),
    (_cmd("add-fd"), 1),
    (_cmd("query-fdsets"), 0),
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("paused", [True, False], ids=["paused", "running"])
def test_descriptors_over_qmp_like_qemu(version: str, paused: bool) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*COMMON, *(["-S"] if paused else [])]
    # a second client after the first left: 7.2 cleans the sets up then
    sessions = [MONITOR_FDS, [(_cmd("query-fdsets"), 0), (_cmd("getfd", fdname="b"), 3)]]
    qemu, ours = _both(version, argv, sessions)
    assert ours == qemu


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_add_fd_option_like_qemu(version: str) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    fd1 = os.open("/dev/null", os.O_RDONLY)
    fd2 = os.open("/dev/null", os.O_RDONLY)
    try:
        cases = [
            f"-add-fd fd={fd1},set=2,opaque=x -add-fd fd={fd2},set=2 -add-fd fd={fd2},set=0",
            "-add-fd fd=1,set=1",
            "-add-fd set=1",
            f"-add-fd fd={fd1}",
            "-add-fd fd=99,set=1",
            "-add-fd fd=x,set=1",
            "-add-fd fd=-1,set=1",
            f"-add-fd fd={fd1},set=1,foo=2",
        ]
        for case in cases:
            sessions = [[(_cmd("query-fdsets"), 0)]]
            qemu, ours = _both(version, [*COMMON, "-S", *case.split()], sessions, (fd1, fd2))
            assert ours == qemu, case
    finally:
        os.close(fd1)
        os.close(fd2)
