"""QMP monitors on client-mode sockets: QEMU connects out and serves QMP there.

Proxmox's qmeventd pattern (``-chardev socket,id=qmp-event,path=...,
reconnect=5 -mon chardev=qmp-event,mode=control``) and ``-qmp unix:PATH``
without ``server=on`` make QEMU the client of a socket someone else
listens on.  Each test runs memdevd and, where installed, the real QEMU
7.2, 10.0 and 11.1 with the same command line against a listener the test
owns, and compares what the listener sees: the greeting, the answers, a
reconnection after a hang-up, ``query-chardev``'s filename, the start-up
texts when nobody listens.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, memdevd_command, qemu_command, runnable

ARGV = ["-S", "-display", "none", "-nodefaults", "-machine", "q35"]


def _reconnect(version: str, seconds: int) -> str:
    """The chardev's reconnect option as the release spells it (11.1 knows
    only reconnect-ms)."""
    from memdevd.releases.table import get_release

    if ("chardev", "reconnect") in get_release(version).opts_keys_removed:
        return f"reconnect-ms={seconds * 1000}"
    return f"reconnect={seconds}"


def _commands(version: str) -> list[tuple[str, list[str]]]:
    """(who, command prefix) for memdevd and, where it runs here, QEMU."""
    out = [("memdevd", [])]
    if runnable(version):
        out.append(("qemu", []))
    return out


def _run(who: str, version: str, argv: list[str]) -> subprocess.Popen[bytes]:
    cmd = qemu_command(version, argv) if who == "qemu" else memdevd_command(version, argv)
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _session(srv: socket.socket) -> tuple[socket.socket, object]:
    conn, _ = srv.accept()
    conn.settimeout(10)
    return conn, conn.makefile("rwb")


def _ask(f: object, cmd: dict[str, object]) -> dict[str, object]:
    f.write(json.dumps(cmd).encode() + b"\n")  # type: ignore[attr-defined]
    f.flush()  # type: ignore[attr-defined]
    while True:
        msg = json.loads(f.readline())  # type: ignore[attr-defined]
        if "event" not in msg:
            return msg  # type: ignore[no-any-return]


def transcript(who: str, version: str, tmp: Path) -> list[object]:
    """Listen, let the emulator connect, talk, hang up, let it reconnect, quit."""
    path = str(tmp / f"{who}.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)
    chardev = f"socket,id=qe,path={path},{_reconnect(version, 1)}"
    proc = _run(who, version, [*ARGV, "-chardev", chardev, "-mon", "chardev=qe,mode=control"])
    seen: list[object] = []
    try:
        conn, f = _session(srv)
        greeting = json.loads(f.readline())  # type: ignore[attr-defined]
        seen.append(greeting["QMP"]["version"]["qemu"])
        seen.append(_ask(f, {"execute": "qmp_capabilities"}))
        chardevs = _ask(f, {"execute": "query-chardev"})["return"]
        seen.append([{**c, "filename": c["filename"].replace(path, "PATH")} for c in chardevs])  # type: ignore[union-attr]
        f.close()  # type: ignore[attr-defined]
        conn.close()
        t0 = time.monotonic()
        conn, f = _session(srv)
        seen.append("QMP" in json.loads(f.readline()))  # type: ignore[attr-defined]
        seen.append(round(time.monotonic() - t0) >= 1)  # reconnect=1: not at once
        seen.append(_ask(f, {"execute": "qmp_capabilities"}))
        seen.append(_ask(f, {"execute": "quit"}))
        f.close()  # type: ignore[attr-defined]
        conn.close()
        seen.append(proc.wait(10))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        text = proc.stderr.read().decode().replace(path, "PATH")
        # (the program's name differs: memdevd's own, QEMU's binary)
        seen.append([line.split(": ", 1)[-1] for line in text.splitlines()])
        proc.stderr.close()
        srv.close()
    return seen


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_client_monitor_connects_serves_and_reconnects(version: str, tmp_path: Path) -> None:
    ours = transcript("memdevd", version, tmp_path)
    assert ours[0] and ours[1] == {"return": {}}
    assert ours[3] is True and ours[4] is True and ours[-2] == 0
    if len(_commands(version)) > 1:
        assert ours == transcript("qemu", version, tmp_path)


def _start_text(who: str, version: str, argv: list[str], runs_on: bool) -> tuple[int | None, str]:
    """(exit status, stderr without program names): None for a process that
    runs on, stopped once it has reported something (or after 30 s)."""
    cmd = qemu_command(version, argv) if who == "qemu" else memdevd_command(version, argv)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 30
        status: int | None = None
        try:
            while time.monotonic() < deadline:
                status = proc.poll()
                if status is not None or (runs_on and os.fstat(err.fileno()).st_size):
                    break
                time.sleep(0.05)
            if runs_on:
                time.sleep(0.2)  # a process that runs on prints nothing more at once
                status = proc.poll()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        err.seek(0)
        text = err.read().decode()
    lines = [line.split(": ", 1)[1] for line in text.splitlines() if "terminating" not in line]
    return status, "\n".join(lines)


@pytest.mark.parametrize(
    "argv",
    [
        ["-qmp", "unix:/nonexistent-dir/qmp.sock"],
        [
            "-chardev",
            "socket,id=qe,path=/nonexistent-dir/q.sock",
            "-mon",
            "chardev=qe,mode=control",
        ],
        [
            "-chardev",
            "socket,id=qe,path=/nonexistent-dir/q.sock,RECONNECT",
            "-mon",
            "chardev=qe,mode=control",
        ],
    ],
    ids=["qmp-client", "mon-client", "mon-client-reconnect"],
)
@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_client_monitor_with_nobody_listening(version: str, argv: list[str]) -> None:
    """Without reconnect start-up fails (the connect is synchronous); with
    it QEMU reports the first failure once and runs on."""
    argv = [a.replace("RECONNECT", _reconnect(version, 5)) for a in argv]
    runs_on = "reconnect" in " ".join(argv)
    ours = _start_text("memdevd", version, [*ARGV, *argv], runs_on)
    if runs_on:
        assert ours[0] is None and "Unable to connect character device qe" in ours[1]
    else:
        assert ours[0] == 1 and "Failed to connect to '/nonexistent-dir/" in ours[1]
    if len(_commands(version)) > 1:
        assert ours == _start_text("qemu", version, [*ARGV, *argv], runs_on)
