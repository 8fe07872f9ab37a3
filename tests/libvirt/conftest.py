"""Fixtures for the libvirt end-to-end tests: a private libvirtd per test.

Owns skipping (not root, libvirt or util-linux's unshare missing: see
:func:`libvirt_harness.unavailable_reason`), the cleanup check every
libvirt test gets (after the harness closed, no process it started is left
and the host's own libvirt paths are as before), and installing memdevd as
the README's libvirt section says: a virtual environment of the system's
``/usr/bin/python3`` outside ``/root``, so that libvirt's ``libvirt-qemu``
user can run the emulator (a per-user Python such as pyenv's, under a
mode-0700 ``/root``, gives libvirt's "cannot execute binary ...: Permission
denied").  ``$MEMDEVD_LIBVIRT_EMULATOR`` names an installed entry point
instead (quicker when iterating; it must be runnable by ``libvirt-qemu``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from libvirt_harness import LibvirtHarness, running_harness
from live_qemu import qemu_binary

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
# Not copied into the source tree pip builds from: a build/ left from an
# earlier build would put stale modules into the wheel.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


@pytest.fixture(scope="session")
def emulator() -> Iterator[str]:
    """``memdevd-qemu-system-x86_64``, installed as the README says for libvirt:
    ``/usr/bin/python3 -m venv DIR && DIR/bin/pip install .``."""
    given = os.environ.get("MEMDEVD_LIBVIRT_EMULATOR")
    if given:
        yield given
        return
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"{SYSTEM_PYTHON} is not installed (Debian's python3, python3-venv)")
    work = Path(tempfile.mkdtemp(prefix="memdevd-libvirt-install-"))
    try:
        work.chmod(0o755)  # libvirt-qemu runs DIR/bin/... (mkdtemp makes it 0700)
        source, venv = work / "src", work / "venv"
        shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
        for step in (
            [SYSTEM_PYTHON, "-m", "venv", str(venv)],
            [str(venv / "bin" / "pip"), "install", "-q", str(source)],
        ):
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{' '.join(step)}:\n{done.stdout}{done.stderr}"
        yield str(venv / "bin" / "memdevd-qemu-system-x86_64")
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def libvirt_harness() -> Iterator[LibvirtHarness]:
    """A started private libvirtd (emulators run as root; see the harness)."""
    with running_harness() as harness:
        yield harness


@pytest.fixture(params=["qemu-7.2", "memdevd"])
def vm_emulator(request: pytest.FixtureRequest) -> tuple[str, bool]:
    """(emulator path, whether its guest acknowledges unplug requests): the
    real QEMU 7.2 (firmware only: never) and memdevd's libvirt entry point
    (a cooperative guest), for tests that run the same steps on both."""
    if request.param == "memdevd":
        return str(request.getfixturevalue("emulator")), True
    binary = qemu_binary("7.2")
    if binary is None:
        pytest.skip("QEMU 7.2 not installed (sh tools/install-qemu.sh)")
    return binary, False
