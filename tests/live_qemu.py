"""Start a real QEMU for a test and hand back a raw QMP socket.

Owns finding the QEMU binaries the conformance tests compare against and
running one of them with a QMP server on a private Unix socket.  Nothing here
speaks QMP beyond reading the greeting (and ``qmp_capabilities`` to tell that
start-up is over): tests send and read raw bytes.  The start-up comparisons
(:func:`compare_startup`: does the same argv start on QEMU and on memdevd,
printing the same) and :func:`run_memdevd` are here too, shared by the live
layers.

Binaries (override with the environment variables):

* ``7.2``  -> ``$MEMDEVD_QEMU_7_2``  or /usr/bin/qemu-system-x86_64
* ``10.0`` -> ``$MEMDEVD_QEMU_10_0`` or /opt/qemu-10.0/bin/qemu-system-x86_64
* ``11.1`` -> ``$MEMDEVD_QEMU_11_1`` or /opt/qemu-11.1/bin/qemu-system-x86_64
  (a wrapper that runs the binary through its own loader, tools/install-qemu.sh)

and qemu-system-aarch64 beside each (``$MEMDEVD_QEMU_AARCH64_7_2``...), for
the functions given ``target="aarch64"``.

What loads every QEMU module (``qom-list-types``, ``-device help``) needs
the module directories the release's recording masked (meta.json
``mask-dirs``: 10.0 and 11.1 would load Debian 7.2's modules and abort):
:func:`qemu_command` runs the binary with them hidden.
"""

from __future__ import annotations

import array
import asyncio
import atexit
import concurrent.futures
import contextlib
import functools
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ALL_QEMU_VERSIONS: tuple[str, ...] = ("7.2", "10.0", "11.1")
#: What every live layer compares with by default.  11.1 is compared in the
#: conformance scenarios (:data:`SCENARIO_VERSIONS`) by default and in every
#: layer with ``MEMDEVD_LIVE_VERSIONS=7.2,10.0,11.1`` (README, "Long runs"):
#: all three releases in every layer exceed CI's time budget on two cores.
DEFAULT_LIVE_VERSIONS: tuple[str, ...] = ("7.2", "10.0")
#: The releases the live layers compare with: the default, or those named in
#: ``$MEMDEVD_LIVE_VERSIONS`` (comma-separated, e.g. "7.2,10.0,11.1"), so a
#: run can split the releases between jobs; a release left out is not run at
#: all (not skipped), so say so where it is left out.
_CHOSEN = os.environ.get("MEMDEVD_LIVE_VERSIONS")
QEMU_VERSIONS: tuple[str, ...] = tuple(
    v for v in ALL_QEMU_VERSIONS if v in (_CHOSEN.split(",") if _CHOSEN else DEFAULT_LIVE_VERSIONS)
)
#: The conformance scenarios: every release unless MEMDEVD_LIVE_VERSIONS says.
SCENARIO_VERSIONS: tuple[str, ...] = QEMU_VERSIONS if _CHOSEN else ALL_QEMU_VERSIONS

_BINARIES: dict[str, tuple[str, str]] = {
    "7.2": ("MEMDEVD_QEMU_7_2", "/usr/bin/qemu-system-x86_64"),
    "10.0": ("MEMDEVD_QEMU_10_0", "/opt/qemu-10.0/bin/qemu-system-x86_64"),
    "11.1": ("MEMDEVD_QEMU_11_1", "/opt/qemu-11.1/bin/qemu-system-x86_64"),
}
#: The binaries of each target memdevd emulates (memdevd/targets/<target>).
TARGET_BINARIES: dict[str, dict[str, tuple[str, str]]] = {
    "x86_64": _BINARIES,
    "aarch64": {
        "7.2": ("MEMDEVD_QEMU_AARCH64_7_2", "/usr/bin/qemu-system-aarch64"),
        "10.0": ("MEMDEVD_QEMU_AARCH64_10_0", "/opt/qemu-10.0/bin/qemu-system-aarch64"),
        "11.1": ("MEMDEVD_QEMU_AARCH64_11_1", "/opt/qemu-11.1/bin/qemu-system-aarch64"),
    },
}

# A paused, device-less PC: starts in well under a second and answers QMP.
DEFAULT_ARGV: tuple[str, ...] = (
    "-S",
    "-nodefaults",
    "-display",
    "none",
    "-accel",
    "tcg",
    "-machine",
    "pc",
)

# Replies can be long (a stray error quotes its whole token).
STREAM_LIMIT = 64 << 20


def qemu_binary_candidate(version: str, target: str = "x86_64") -> str:
    """The path where the QEMU of ``version`` (and ``target``) is looked for."""
    env, default = TARGET_BINARIES[target][version]
    return os.environ.get(env) or default


def qemu_binary(version: str, target: str = "x86_64") -> str | None:
    """The QEMU binary for ``version`` ("7.2", "10.0" or "11.1"), or None if absent."""
    path = qemu_binary_candidate(version, target)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return None


TARGETS = Path(__file__).resolve().parents[1] / "memdevd" / "targets"
DATA = TARGETS / "x86_64" / "data"


def module_masks(version: str, target: str = "x86_64") -> list[str]:
    """The directories the recording of ``version`` hid from QEMU (--mask-dir);
    none while the target has no recording of the release."""
    path = TARGETS / target / "data" / f"qemu-{version}" / "meta.json"
    if not path.is_file():
        return []
    meta = json.loads(path.read_text(encoding="utf-8"))
    return [d for d in meta.get("mask-dirs", []) if os.path.isdir(d)]


@functools.cache
def _empty_directory() -> str:
    path = tempfile.mkdtemp(prefix="memdevd-mask-")
    atexit.register(shutil.rmtree, path, True)
    return path


def mask_problem(version: str, target: str = "x86_64") -> str | None:
    """Why :func:`qemu_command` cannot hide ``version``'s module directories
    here, or None (nothing to hide, or root with ``unshare``)."""
    masks = module_masks(version, target)
    if not masks:
        return None
    if os.geteuid() != 0:
        return f"hiding {masks} from QEMU {version} needs root"
    if shutil.which("unshare") is None:
        return f"hiding {masks} from QEMU {version} needs unshare"
    return None


def qemu_command(version: str, argv: Sequence[str], target: str = "x86_64") -> list[str]:
    """The command that runs QEMU ``version`` with ``argv`` as its recording
    ran it: with the module directories it masked hidden (an empty
    directory bind-mounted over each, in a private mount namespace).
    Raises FileNotFoundError if the binary is absent, RuntimeError when the
    directories cannot be hidden (:func:`mask_problem`)."""
    binary = qemu_binary(version, target)
    if binary is None:
        raise FileNotFoundError(qemu_binary_candidate(version, target))
    masks = module_masks(version, target)
    if not masks:
        return [binary, *argv]
    problem = mask_problem(version, target)
    if problem is not None:
        raise RuntimeError(problem)
    empty = _empty_directory()
    mounts = " && ".join(f"mount --bind {shlex.quote(empty)} {shlex.quote(d)}" for d in masks)
    return [
        "unshare", "--mount", "--propagation", "private",
        "sh", "-c", f'{mounts} && exec "$@"', "sh", binary, *argv,
    ]  # fmt: skip


@dataclass
class QemuProcess:
    """A running QEMU with a QMP server socket; see :func:`run_qemu`."""

    version: str
    binary: str
    socket_path: str
    process: asyncio.subprocess.Process
    stderr_path: str

    async def connect(
        self, timeout: float = 10.0
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
        """Open a new QMP connection; returns (reader, writer, greeting line).

        QEMU serves one client at a time; after the previous writer is closed
        the monitor resets its JSON parser and greets the next client.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"{self.binary} exited with {self.process.returncode}: {self.stderr()}"
                )
            try:
                reader, writer = await asyncio.open_unix_connection(
                    self.socket_path, limit=STREAM_LIMIT
                )
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.02)
        try:
            greeting = await asyncio.wait_for(
                reader.readuntil(b"\r\n"), max(0.1, deadline - loop.time())
            )
        except BaseException:
            writer.close()
            raise
        return reader, writer, greeting

    def stderr(self) -> str:
        """What QEMU has written to stderr so far."""
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


@contextlib.asynccontextmanager
async def run_qemu(version: str, argv: Sequence[str] | None = None) -> AsyncIterator[QemuProcess]:
    """Run the QEMU of ``version`` with ``argv`` plus a QMP server socket.

    ``argv`` defaults to :data:`DEFAULT_ARGV`; ``-qmp`` is added here.
    Raises FileNotFoundError if the binary is absent.  The process is killed
    on exit.
    """
    binary = qemu_binary(version)
    if binary is None:
        raise FileNotFoundError(qemu_binary_candidate(version))
    tmpdir = tempfile.mkdtemp(prefix="memdevd-qemu-")
    socket_path = os.path.join(tmpdir, "qmp.sock")
    stderr_path = os.path.join(tmpdir, "stderr.log")
    args = list(DEFAULT_ARGV if argv is None else argv)
    # stderr goes to a file: an unread pipe could fill up and stall QEMU.
    with open(stderr_path, "wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            binary,
            *args,
            "-qmp",
            f"unix:{socket_path},server=on,wait=off",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        yield QemuProcess(version, binary, socket_path, process, stderr_path)
    finally:
        if process.returncode is None:
            process.kill()
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
        shutil.rmtree(tmpdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def start_qemu(
    version: str, argv: Sequence[str] | None = None
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]]:
    """Run QEMU and connect once: yields (reader, writer, greeting line)."""
    async with run_qemu(version, argv) as qemu:
        reader, writer, greeting = await qemu.connect()
        try:
            yield reader, writer, greeting
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


# -- Start-up outcomes: whether a command line starts, and what it prints ------------

#: (outcome, stdout, stderr): outcome is "started" or "exit N".
Outcome = tuple[str, str, str]


def runnable(version: str) -> bool:
    """Whether the QEMU of ``version`` is here and can run every module test."""
    return qemu_binary(version) is not None and mask_problem(version) is None


def memdevd_command(version: str, argv: Sequence[str]) -> list[str]:
    """memdevd as a user starts it, emulating ``version``."""
    return [sys.executable, "-m", "memdevd", "-memdevd", f"version={version}", *argv]


def qmp_ready(path: str, proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Whether the QMP monitor at ``path`` answered ``qmp_capabilities``:
    QEMU's main loop serves it only once start-up is over (its socket
    listens earlier, before the board and devices are made)."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(path)
            except OSError:
                time.sleep(0.05)
                continue
            s.settimeout(max(0.1, deadline - time.monotonic()))
            stream = s.makefile("rwb")
            try:
                stream.readline()  # the greeting
                stream.write(b'{"execute": "qmp_capabilities"}\n')
                stream.flush()
                return bool(stream.readline())
            except OSError:
                return False
    return False


def startup_outcome(cmd: Sequence[str], sock: str, timeout: float = 30.0) -> Outcome:
    """Run ``cmd`` (whose QMP monitor listens at ``sock``) until it has
    started or exited; a started process is killed (SIGKILL: it prints
    nothing more)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        started = qmp_ready(sock, proc, time.monotonic() + timeout)
        if started:
            proc.kill()
        status = proc.wait(timeout)
        out.seek(0)
        err.seek(0)
        outcome = "started" if started else f"exit {status}"
        return outcome, out.read().decode(), err.read().decode()


def compare_startup(
    version: str,
    argv: Sequence[str],
    normalise: Callable[[str], str] = lambda text: text,
    timeout: float = 30.0,
) -> tuple[Outcome, Outcome]:
    """(QEMU's outcome, memdevd's) for the same ``argv``, stdout and stderr
    passed through ``normalise`` (program names, temporary paths)."""
    with tempfile.TemporaryDirectory(prefix="memdevd-startup-") as tmp:
        q_sock, m_sock = f"{tmp}/q.sock", f"{tmp}/m.sock"
        qmp = "-qmp", f"unix:{q_sock},server=on,wait=off"
        qemu = startup_outcome(qemu_command(version, [*argv, *qmp]), q_sock, timeout)
        qmp = "-qmp", f"unix:{m_sock},server=on,wait=off"
        memdevd = startup_outcome(memdevd_command(version, [*argv, *qmp]), m_sock, timeout)
    return (
        (qemu[0], normalise(qemu[1]), normalise(qemu[2])),
        (memdevd[0], normalise(memdevd[1]), normalise(memdevd[2])),
    )


def compare_startups(
    cases: Sequence[tuple[str, Sequence[str]]],
    versions: Sequence[str],
    jobs: int,
    normalise: Callable[[str], str] = lambda text: text,
    timeout: float = 30.0,
) -> dict[tuple[str, str], tuple[Outcome, Outcome]]:
    """:func:`compare_startup` for every (case id, argv) on every runnable
    release of ``versions``, ``jobs`` at a time; keyed (case id, version)."""
    args = dict(cases)
    pairs = [(case, v) for case, _ in cases for v in versions if runnable(v)]
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {
            pair: pool.submit(compare_startup, pair[1], args[pair[0]], normalise, timeout)
            for pair in pairs
        }
        return {pair: f.result() for pair, f in futures.items()}


@contextlib.asynccontextmanager
async def run_memdevd(version: str, argv: Sequence[str]) -> AsyncIterator[str]:
    """memdevd emulating ``version`` with ``argv`` and a QMP server: yields
    its socket's path (which may not listen yet); killed on exit."""
    tmp = tempfile.mkdtemp(prefix="memdevd-live-")
    sock = os.path.join(tmp, "qmp.sock")
    proc = await asyncio.create_subprocess_exec(
        *memdevd_command(version, [*argv, "-qmp", f"unix:{sock},server=on,wait=off"]),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        yield sock
    finally:
        proc.kill()
        await proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def send_with_fds(sock: socket.socket, data: bytes, count: int) -> None:
    """Send ``data``, with ``count`` descriptors of /dev/null passed as
    SCM_RIGHTS when ``count`` is not 0 (getfd, add-fd); ours are closed after."""
    if not count:
        sock.sendall(data)
        return
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(count)]
    try:
        rights = bytes(array.array("i", fds))
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
    finally:
        for fd in fds:
            os.close(fd)


def connect_monitor(
    path: str, proc: subprocess.Popen[bytes], deadline: float
) -> socket.socket | None:
    """A socket connected to the monitor ``proc`` listens on at ``path``,
    retried until ``deadline``; None if ``proc`` exits or time runs out."""
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None or time.monotonic() > deadline:
                return None
            time.sleep(0.05)


def ask(cmd: Sequence[str], sock: str, questions: Sequence[dict[str, object]]) -> list[str]:
    """Start ``cmd`` (its QMP monitor at ``sock``), send ``qmp_capabilities``
    and then each of ``questions``: the reply lines as sent (events
    skipped), one per question; the process is killed afterwards."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        connected = connect_monitor(sock, proc, time.monotonic() + 30.0)
        if connected is None:
            raise RuntimeError(f"{cmd[0]} did not start: {proc.communicate()[1].decode()}")
        with connected as s:
            s.settimeout(30.0)
            stream = s.makefile("rwb")
            stream.readline()
            replies = []
            for q in [{"execute": "qmp_capabilities"}, *questions]:
                stream.write(json.dumps(q).encode() + b"\n")
                stream.flush()
                line = stream.readline()
                while line.startswith((b'{"timestamp"', b'{"event"')):
                    line = stream.readline()
                replies.append(line.decode().rstrip("\r\n"))
            return replies[1:]
    finally:
        proc.kill()
        # (the did-not-start error has read stderr to its end already)
        if proc.stderr is not None and not proc.stderr.closed:
            proc.communicate()
        else:
            proc.wait()


def ask_or_exit(
    cmd: Sequence[str],
    sock: str,
    questions: Sequence[dict[str, object]],
    normalise: Callable[[str], str] = lambda text: text,
    timeout: float = 30.0,
) -> list[str]:
    """:func:`ask`, or ``["exit N", stderr]`` for a process that ends
    before its monitor answers (a start-up error)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )

        def exited() -> list[str]:
            proc.wait(timeout)
            err.seek(0)
            return [f"exit {proc.returncode}", normalise(err.read().decode())]

        try:
            deadline = time.monotonic() + timeout
            with socket.socket(socket.AF_UNIX) as s:
                while True:
                    if proc.poll() is not None:
                        return exited()
                    try:
                        s.connect(sock)
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
                s.settimeout(timeout)
                stream = s.makefile("rwb")
                replies = []
                try:
                    stream.readline()
                    for q in [{"execute": "qmp_capabilities"}, *questions]:
                        stream.write(json.dumps(q).encode() + b"\n")
                        stream.flush()
                        line = stream.readline()
                        while line.startswith((b'{"timestamp"', b'{"event"')):
                            line = stream.readline()
                        replies.append(line.decode().rstrip("\r\n"))
                except OSError:
                    # (the monitor's socket exists before start-up fails)
                    return exited()
                if not replies[0]:
                    return exited()  # the monitor hung up: start-up failed
                return replies[1:]
        finally:
            proc.kill()
            proc.wait()


def ask_both(
    version: str,
    argv: Sequence[str],
    questions: Sequence[dict[str, object]],
    asker: Callable[[Sequence[str], str, Sequence[dict[str, object]]], list[str]] = ask,
) -> tuple[list[str], list[str]]:
    """(QEMU's replies, memdevd's) to ``questions`` for the same ``argv``,
    each asked by ``asker`` (:func:`ask`, or :func:`ask_or_exit`)."""
    with tempfile.TemporaryDirectory(prefix="memdevd-ask-") as tmp:
        qmp = "-qmp", "unix:{},server=on,wait=off"
        q_sock, m_sock = f"{tmp}/q.sock", f"{tmp}/m.sock"
        qemu = asker(
            qemu_command(version, [*argv, qmp[0], qmp[1].format(q_sock)]), q_sock, questions
        )
        ours = memdevd_command(version, [*argv, qmp[0], qmp[1].format(m_sock)])
        return qemu, asker(ours, m_sock, questions)
