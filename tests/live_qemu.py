"""Start a real QEMU for a test and hand back a raw QMP socket.

Owns finding the QEMU binaries the conformance tests compare against and
running one of them with a QMP server on a private Unix socket.  Nothing here
speaks QMP beyond reading the greeting: tests send and read raw bytes.

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

import asyncio
import atexit
import contextlib
import functools
import json
import os
import shlex
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
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
