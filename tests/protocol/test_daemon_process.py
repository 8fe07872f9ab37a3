"""memdevd as a process: how it stops, daemonizes, listens and starts.

``quit`` and SIGTERM/SIGINT/SIGHUP end it as they end QEMU (a SHUTDOWN event
to every client, connections closed, exit status 0, socket file removed);
``-daemonize -pidfile`` returns only once the socket listens; ``-version``
and ``-help`` print and exit; without arguments it starts a q35 machine on a
socket under ``$XDG_RUNTIME_DIR`` and says where; it listens on TCP (port 0
included, as QEMU does), on ``-chardev socket`` + ``-mon``, creates UNIX
sockets 0600 and never deletes a regular file at the socket path.  Start-up
errors of the listeners are compared with QEMU's texts.

The ``live_qemu`` tests run the real QEMU 7.2 and 10.0 to show the QEMU
behaviour the other tests expect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from protocol_harness import (
    REPLY_TIMEOUT,
    START_TIMEOUT,
    GiB,
    RawQMP,
    free_tcp_port,
    kill_quietly,
    listening_tcp_ports,
    mask_event,
    memdevd_command,
    qmp_unix,
    run_memdevd,
    version_argv,
    wait_gone,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import qemu_binary, run_qemu

QEMU_VERSIONS = ("7.2", "10.0")
SHUTDOWN_QUIT = {"event": "SHUTDOWN", "data": {"guest": False, "reason": "host-qmp-quit"}}
SHUTDOWN_SIGNAL = {"event": "SHUTDOWN", "data": {"guest": False, "reason": "host-signal"}}
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

# Who sends the test's signals, as QEMU names a sender: "PID (argv[0])".
with open("/proc/self/cmdline", "rb") as _f:
    _ARGV0 = _f.read().split(b"\0", 1)[0].decode()
SENDER = f"{os.getpid()} ({_ARGV0})"


def need_qemu(version: str) -> str:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    return str(binary)


def run_sync(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=START_TIMEOUT, check=False, **kwargs
    )


async def wait_for_file_text(path: Path, needle: str, timeout: float = START_TIMEOUT) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        if needle in text:
            return text
        if loop.time() > deadline:
            raise AssertionError(f"{needle!r} never appeared in {path}: {text!r}")
        await asyncio.sleep(0.02)


# -- quit and signals ---------------------------------------------------------


async def test_quit_replies_shuts_down_and_cleans_up(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        assert md.socket_path is not None
        quitter = await md.connect()
        other = await md.connect()
        await quitter.negotiate()
        await other.negotiate()
        await quitter.send({"execute": "quit", "id": "bye"})
        data = await quitter.read_to_eof()
        messages = [json.loads(line) for line in data.split(b"\r\n") if line]
        assert data.endswith(b"\r\n")
        assert {"return": {}, "id": "bye"} in messages
        events = [mask_event(m) for m in messages if "event" in m]
        assert events == [SHUTDOWN_QUIT]
        assert len(messages) == 2
        # Every negotiated client sees the SHUTDOWN, then the connection ends.
        assert mask_event(await other.recv()) == SHUTDOWN_QUIT
        assert await other.read_to_eof() == b""
        assert await md.wait() == 0
        assert not md.socket_path.exists()
        assert md.stderr() == ""


async def test_quit_event_precedes_reply(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        client = await md.connect()
        await client.negotiate()
        await client.send({"execute": "quit"})
        data = await client.read_to_eof()
    messages = [json.loads(line) for line in data.split(b"\r\n") if line]
    assert ["event" in m for m in messages] == [True, False]
    assert [mask_event(messages[0]), messages[1]] == [SHUTDOWN_QUIT, {"return": {}}]


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_qemu_quit_event_precedes_reply(version: str) -> None:
    need_qemu(version)
    async with run_qemu(version) as qemu:
        reader, writer, _ = await qemu.connect()
        writer.write(b'{"execute":"qmp_capabilities"}{"execute":"quit"}')
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), REPLY_TIMEOUT)
        assert await asyncio.wait_for(qemu.process.wait(), REPLY_TIMEOUT) == 0
        assert not os.path.exists(qemu.socket_path)
    messages = [json.loads(line) for line in data.split(b"\r\n") if line]
    assert messages[0] == {"return": {}}
    assert [mask_event(messages[1]), messages[2]] == [SHUTDOWN_QUIT, {"return": {}}]


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
async def test_signal_shuts_down_cleanly(workdir: Path, signum: int) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        assert md.socket_path is not None
        client = await md.connect()
        await client.negotiate()
        md.signal(signum)
        assert mask_event(await client.recv()) == SHUTDOWN_SIGNAL
        assert await client.read_to_eof() == b""
        assert await md.wait() == 0
        assert not md.socket_path.exists()
        # As QEMU: the sender's pid and the first word of its command line.
        assert md.stderr() == f"memdevd: terminating on signal {signum} from pid {SENDER}\n"


async def test_sigterm_with_stderr_closed(workdir: Path) -> None:
    # A parent that stopped reading memdevd's stderr must still stop it.
    sock = workdir / "qmp.sock"
    process = await asyncio.create_subprocess_exec(
        *memdevd_command(*version_argv("10.0"), *qmp_unix(sock)),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(int(START_TIMEOUT / 0.02)):
            # Listening, not just bound: the file exists from bind().
            try:
                client = await RawQMP.connect(sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                await asyncio.sleep(0.02)
        else:
            raise AssertionError("memdevd never listened on its socket")
        await client.close()
        assert process.stderr is not None
        process.stderr.feed_eof()
        # Close the read end of the stderr pipe, as a parent that went away.
        transport = process._transport
        pipe = transport.get_pipe_transport(2) if transport is not None else None
        assert pipe is not None
        pipe.close()
        await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), REPLY_TIMEOUT) == 0
        assert not sock.exists()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_signal_during_a_half_request(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        client = await md.connect()
        await client.negotiate()
        await client.write(b'{"execute": "query-st')
        md.signal(signal.SIGTERM)
        assert mask_event(await client.recv()) == SHUTDOWN_SIGNAL
        assert await client.read_to_eof() == b""
        assert await md.wait() == 0


async def read_after_shutdown(reader: asyncio.StreamReader) -> bytes:
    """What a client that was waiting for a slot reads once the server exits."""
    try:
        return await asyncio.wait_for(reader.read(), REPLY_TIMEOUT)
    except ConnectionResetError:
        return b""


async def test_waiting_client_is_not_greeted_at_shutdown(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2", "max-clients=1")) as md:
        active = await md.connect()
        await active.negotiate()
        waiting = await md.connect(greet=False)
        await waiting.nothing_arrives()
        md.signal(signal.SIGTERM)
        assert mask_event(await active.recv()) == SHUTDOWN_SIGNAL
        assert await md.wait() == 0
        assert await read_after_shutdown(waiting.reader) == b""


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_qemu_waiting_client_at_shutdown(version: str) -> None:
    need_qemu(version)
    async with run_qemu(version) as qemu:
        reader, writer, _ = await qemu.connect()
        writer.write(b'{"execute":"qmp_capabilities"}')
        await writer.drain()
        await reader.readline()
        waiting_reader, _ = await asyncio.open_unix_connection(qemu.socket_path)
        await asyncio.sleep(0.2)
        qemu.process.send_signal(signal.SIGTERM)
        event = json.loads(await asyncio.wait_for(reader.readline(), REPLY_TIMEOUT))
        assert mask_event(event) == SHUTDOWN_SIGNAL
        assert await asyncio.wait_for(qemu.process.wait(), REPLY_TIMEOUT) == 0
        assert await read_after_shutdown(waiting_reader) == b""


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_sigterm_like_qemu(workdir: Path, version: str) -> None:
    """The same messages and exit status as the real QEMU for SIGTERM."""
    need_qemu(version)

    async def after_sigterm(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kill: Any
    ) -> list[dict[str, Any]]:
        writer.write(b'{"execute":"qmp_capabilities"}')
        await writer.drain()
        assert json.loads(await reader.readline()) == {"return": {}}
        kill(signal.SIGTERM)
        data = await asyncio.wait_for(reader.read(), REPLY_TIMEOUT)
        return [mask_event(json.loads(line)) for line in data.split(b"\r\n") if line]

    async with run_qemu(version) as qemu:
        reader, writer, _ = await qemu.connect()
        qemu_messages = await after_sigterm(reader, writer, qemu.process.send_signal)
        qemu_status = await asyncio.wait_for(qemu.process.wait(), REPLY_TIMEOUT)
        assert not os.path.exists(qemu.socket_path)
        assert f"terminating on signal 15 from pid {SENDER}\n" in qemu.stderr()
    async with run_memdevd(workdir, ["-memdevd", f"version={version}", "-S", "-M", "pc"]) as md:
        client = await md.connect()
        md_messages = await after_sigterm(client.reader, client.writer, md.signal)
        assert await md.wait() == qemu_status == 0
    assert md_messages == qemu_messages == [SHUTDOWN_SIGNAL]


# -- -daemonize and -pidfile ----------------------------------------------------


async def daemonize(workdir: Path, argv: list[str]) -> tuple[int, str]:
    """Run ``memdevd ARGV -daemonize``; (exit status of the command, its stderr)."""
    err = workdir / "daemonize.stderr"
    with open(err, "wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *memdevd_command(*argv, "-daemonize"),
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    status = await asyncio.wait_for(proc.wait(), START_TIMEOUT)
    return status, err.read_text()


def read_pid(path: Path) -> int:
    text = path.read_text()
    assert text.endswith("\n") and text[:-1].isdigit(), text
    return int(text)


async def test_daemonize_returns_once_listening(workdir: Path) -> None:
    sock = workdir / "qmp.sock"
    pidfile = workdir / "memdevd.pid"
    argv = [*version_argv("7.2"), *qmp_unix(sock), "-pidfile", str(pidfile)]
    status, err = await daemonize(workdir, argv)
    pid = read_pid(pidfile) if pidfile.exists() else None
    try:
        assert (status, err) == (0, "")
        assert pid is not None and pid != os.getpid()
        assert b"memdevd" in Path(f"/proc/{pid}/cmdline").read_bytes()
        # Listening already: a single attempt, no retry.
        reader, writer = await asyncio.open_unix_connection(str(sock))
        client = RawQMP(reader, writer)
        assert "QMP" in await client.recv()
        await client.negotiate()
        os.kill(pid, signal.SIGTERM)
        assert mask_event(await client.recv()) == SHUTDOWN_SIGNAL
        assert await client.read_to_eof() == b""
        await wait_gone(pid)
        assert not sock.exists()
        assert not pidfile.exists()
    finally:
        if pid is not None:
            kill_quietly(pid)


async def test_daemonize_reports_a_failed_start(workdir: Path) -> None:
    blocker = workdir / "qmp.sock"
    blocker.write_text("not a socket\n")
    pidfile = workdir / "memdevd.pid"
    argv = [*version_argv("7.2"), *qmp_unix(blocker), "-pidfile", str(pidfile)]
    status, err = await daemonize(workdir, argv)
    if pidfile.exists():
        kill_quietly(read_pid(pidfile))
    assert status == 1
    assert f"Failed to bind socket to {blocker}" in err
    assert not pidfile.exists()
    assert blocker.read_text() == "not a socket\n"


PIDFILE_LOCKED = "cannot create PID file: Cannot lock pid file: Resource temporarily unavailable\n"


async def test_second_instance_with_same_pidfile_is_refused(workdir: Path) -> None:
    pidfile = workdir / "memdevd.pid"
    pids: list[int] = []
    try:
        argv = [*version_argv("7.2"), *qmp_unix(workdir / "a.sock"), "-pidfile", str(pidfile)]
        assert await daemonize(workdir, argv) == (0, "")
        pids.append(read_pid(pidfile))
        argv = [*version_argv("7.2"), *qmp_unix(workdir / "b.sock"), "-pidfile", str(pidfile)]
        status, err = await daemonize(workdir, argv)
        if read_pid(pidfile) != pids[0]:
            pids.append(read_pid(pidfile))
        assert (status, err) == (1, f"memdevd: {PIDFILE_LOCKED}")
        assert read_pid(pidfile) == pids[0]
    finally:
        for pid in pids:
            kill_quietly(pid)


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_qemu_pidfile_is_locked(workdir: Path, version: str) -> None:
    binary = need_qemu(version)
    pidfile = workdir / "qemu.pid"
    base = [binary, "-S", "-nodefaults", "-display", "none", "-machine", "pc"]
    pid: int | None = None
    try:
        first = run_sync(
            [*base, *qmp_unix(workdir / "a.sock"), "-daemonize", "-pidfile", str(pidfile)]
        )
        assert first.returncode == 0, first.stderr
        pid = read_pid(pidfile)
        second = run_sync(
            [*base, *qmp_unix(workdir / "b.sock"), "-daemonize", "-pidfile", str(pidfile)]
        )
        assert (second.returncode, second.stderr) == (1, f"qemu-system-x86_64: {PIDFILE_LOCKED}")
        assert read_pid(pidfile) == pid
    finally:
        if pid is not None:
            kill_quietly(pid)


# -- -version, -help, no arguments -----------------------------------------------------


@pytest.mark.parametrize("option", ["-version", "--version"])
def test_version_option(option: str) -> None:
    out = run_sync(memdevd_command(option))
    assert (out.returncode, out.stderr) == (0, "")
    lines = out.stdout.splitlines()
    assert lines[0].startswith("QEMU emulator version 10.0.2 (")
    assert "memdevd" in out.stdout
    out72 = run_sync(memdevd_command("-memdevd", "version=7.2", option))
    assert out72.returncode == 0
    assert out72.stdout.startswith("QEMU emulator version 7.2.22 (")


@pytest.mark.parametrize("option", ["-h", "-help", "--help"])
def test_help_option(option: str) -> None:
    out = run_sync(memdevd_command(option))
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout.startswith("usage: memdevd")
    for option_name in ("-qmp", "-chardev", "-mon", "-daemonize", "-memdevd", "-object"):
        assert option_name in out.stdout


@pytest.mark.live_qemu
@pytest.mark.parametrize(
    "version",
    [
        "7.2",
        "10.0",
    ],
)
def test_version_text_like_qemu(version: str) -> None:
    """QEMU's two lines, memdevd's name added inside the first (a listed divergence)."""
    qemu = run_sync([need_qemu(version), "-version"]).stdout.splitlines()
    ours = run_sync(memdevd_command("-memdevd", f"version={version}", "-version"))
    lines = ours.stdout.splitlines()
    assert lines[0].startswith(qemu[0][:-1] + "; memdevd ")
    assert lines[1] == qemu[1]


async def test_no_arguments_starts_a_default_machine(workdir: Path) -> None:
    runtime = workdir / "xdg"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    sock = runtime / "memdevd" / "qmp.sock"
    async with run_memdevd(workdir, [], socket_name=None, env=env) as md:
        await wait_for_file_text(md.stderr_path, "\n")
        assert md.stderr() == f"memdevd: QMP listening on unix:{sock}\n"
        client = await RawQMP.connect(sock)
        assert client.greeting is not None
        assert client.greeting["QMP"]["version"]["qemu"] == {"micro": 2, "minor": 0, "major": 10}
        await client.negotiate()
        path = "/machine"
        assert await client.ok("qom-get", {"path": path, "property": "type"}) == (
            "pc-q35-10.0-machine"
        )
        assert await client.ok("query-memory-size-summary") == {
            "base-memory": GiB,
            "plugged-memory": 0,
        }
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        md.signal(signal.SIGTERM)
        assert await md.wait() == 0
        assert not sock.exists()


# -- listeners -------------------------------------------------------------------------


async def quit_over(client: RawQMP) -> None:
    await client.negotiate()
    await client.send({"execute": "quit"})
    await client.read_to_eof()


async def test_tcp_port_zero_binds_a_free_port(workdir: Path) -> None:
    """QEMU binds an ephemeral port for port 0 (its query-chardev shows which)."""
    argv = [*version_argv("7.2"), "-qmp", "tcp:127.0.0.1:0,server=on,wait=off"]
    async with run_memdevd(workdir, argv, socket_name=None) as md:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not (ports := listening_tcp_ports(md.pid)):
            assert loop.time() < deadline and md.process.returncode is None, md.stderr()
            await asyncio.sleep(0.02)
        [(host, port)] = ports
        assert host == "127.0.0.1" and port != 0
        client = await RawQMP.connect_tcp(host, port)
        await quit_over(client)
        assert await md.wait() == 0
        assert list(workdir.iterdir()) == [md.stderr_path]


async def test_tcp_listener_on_a_given_port(workdir: Path) -> None:
    port = free_tcp_port()
    argv = [*version_argv("10.0"), "-qmp", f"tcp:127.0.0.1:{port},server=on,wait=off"]
    async with run_memdevd(workdir, argv, socket_name=None) as md:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while True:
            try:
                client = await RawQMP.connect_tcp("127.0.0.1", port)
                break
            except ConnectionRefusedError:
                assert loop.time() < deadline and md.process.returncode is None, md.stderr()
                await asyncio.sleep(0.02)
        assert client.greeting is not None
        assert client.greeting["QMP"]["version"]["qemu"]["major"] == 10
        await quit_over(client)
        assert await md.wait() == 0


async def test_chardev_and_mon_control(workdir: Path) -> None:
    sock = workdir / "mon.sock"
    argv = [
        *version_argv("7.2"),
        "-chardev",
        f"socket,id=m,path={sock},server=on,wait=off",
        "-mon",
        "chardev=m,mode=control",
    ]
    async with run_memdevd(workdir, argv, socket_name=None) as md:
        client = await RawQMP.connect(sock)
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        await quit_over(client)
        assert await md.wait() == 0
        assert not sock.exists()


@pytest.mark.parametrize("kind", ["file", "directory"])
async def test_socket_path_that_is_not_a_socket_is_left_alone(workdir: Path, kind: str) -> None:
    path = workdir / "qmp.sock"
    if kind == "file":
        path.write_text("precious\n")
    else:
        path.mkdir()
        (path / "inside").write_text("precious\n")
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        assert await md.wait(START_TIMEOUT) == 1
        # Located at the -qmp option, as QEMU locates its socket errors.
        assert md.stderr() == (
            f"memdevd: -qmp unix:{path},server=on,wait=off: "
            f"Failed to bind socket to {path}: path exists and is not a socket\n"
        )
    if kind == "file":
        assert path.read_text() == "precious\n"
    else:
        assert (path / "inside").read_text() == "precious\n"


async def test_stale_socket_is_replaced(workdir: Path) -> None:
    path = workdir / "qmp.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        client = await md.connect()
        await quit_over(client)
        assert await md.wait() == 0


@pytest.mark.parametrize(
    ("umask", "settings", "mode"),
    [(0o000, (), 0o600), (0o077, (), 0o600), (0o000, ("socket-mode=660",), 0o660)],
)
async def test_unix_socket_mode(
    workdir: Path, umask: int, settings: tuple[str, ...], mode: int
) -> None:
    async with run_memdevd(workdir, version_argv("7.2", *settings), umask=umask) as md:
        assert md.socket_path is not None
        client = await md.connect()
        assert stat.S_IMODE(md.socket_path.stat().st_mode) == mode
        await client.close()


# -- listener start-up errors, as QEMU reports them ----------------------------------

LONG_DIR = "d" * 120


def listener_error_cases(workdir: Path, busy_port: int) -> dict[str, tuple[str, str]]:
    """name -> (-qmp argument, QEMU's error after 'PROG: ') for a listener that fails."""
    missing = f"{workdir}/missing/q.sock"
    long_path = f"{workdir}/{LONG_DIR}/q.sock"
    return {
        "missing-dir": (
            f"unix:{missing},server=on,wait=off",
            f"Failed to bind socket to {missing}: No such file or directory",
        ),
        "path-too-long": (
            f"unix:{long_path},server=on,wait=off",
            f"UNIX socket path '{long_path}' is too long\nPath must be less than 108 bytes",
        ),
        "port-in-use": (
            f"tcp:127.0.0.1:{busy_port},server=on,wait=off",
            "Failed to find an available port: Address already in use",
        ),
    }


LISTENER_BUGS = {
    "missing-dir": "bug: the error lacks QEMU's location prefix '-qmp ARG: '",
    "path-too-long": "bug: memdevd says 'Failed to bind socket to PATH: None'",
    "port-in-use": "bug: memdevd dies with a Python traceback (OSError from create_server)",
}


@contextlib.contextmanager
def busy_port() -> Any:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize(
    "case",
    [pytest.param(name) for name in LISTENER_BUGS],
)
def test_listener_errors_like_qemu(workdir: Path, case: str) -> None:
    with busy_port() as port:
        qmp, expected = listener_error_cases(workdir, port)[case]
        out = run_sync(memdevd_command(*version_argv("7.2"), "-qmp", qmp), cwd=workdir)
    assert (out.returncode, out.stderr) == (1, f"memdevd: -qmp {qmp}: {expected}\n")


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", list(LISTENER_BUGS))
def test_qemu_listener_errors(workdir: Path, version: str, case: str) -> None:
    """The texts test_listener_errors_like_qemu expects are QEMU's."""
    binary = need_qemu(version)
    with busy_port() as port:
        qmp, expected = listener_error_cases(workdir, port)[case]
        args = [binary, "-S", "-nodefaults", "-display", "none", "-M", "pc", "-qmp", qmp]
        out = run_sync(args, cwd=workdir)
    assert (out.returncode, out.stderr) == (1, f"qemu-system-x86_64: -qmp {qmp}: {expected}\n")
