"""``-device help`` and ``-device NAME,help``: memdevd against real QEMU 7.2 and 10.0.

For each live release the real binary (10.0 with the module directory
hidden as its recording hid it, see tests/live_qemu.py) is run once per
name, in parallel, in a module fixture: ``-device help``, ``-device ?``,
and ``-device NAME,help`` for every device type of the recorded catalog,
every alias of QEMU's table and a few names that are errors (unknown,
abstract, no device, empty).  memdevd answers the same command lines in
this process (``cli.main``, program name ``qemu-system-x86_64``); stdout,
stderr and exit status must be QEMU's, byte for byte.  One test also runs
memdevd as a process of its own.

Known and not reproduced: QEMU's ``-device TYPE,help`` runs before any
machine exists, and three types misbehave there.  7.2's ``acpi-ged`` and
``acpi-ged-x86`` read memory the missing machine would have set: most runs
die in GLib's allocator (a random size), the others list one property more
than ``device-list-properties`` does (``acpi-mem-hotplug[0]``); 10.0's
``acpi-ged`` always aborts on an assertion in ``qdev_get_machine()``.
memdevd prints their properties as ``device-list-properties`` reports
them; for these types only that is checked.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from memdevd.app import cli
from memdevd.releases.recorded import recording
from memdevd.releases.table import get_release

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, mask_problem, qemu_binary, qemu_command

pytestmark = pytest.mark.live_qemu

PROG = "qemu-system-x86_64"
VERSIONS = tuple(v for v in ("7.2", "10.0", "11.1") if v in QEMU_VERSIONS)
TIMEOUT = 60.0
#: Types whose -device TYPE,help QEMU gets wrong (see the module docstring).
WRONG_WITHOUT_MACHINE = {
    "7.2": {"acpi-ged", "acpi-ged-x86"},
    "10.0": {"acpi-ged"},
    "11.1": {"acpi-ged"},
}
#: Names beyond the catalog's types and aliases: unknown, an abstract device,
#: no device, the empty name, an alias whose type the build lacks (10.0),
#: a type of another architecture's alias entry, a module type 10.0 lacks.
ERROR_NAMES = [
    "no-such-type",
    "virtio-pci",
    "device",
    "memory-backend-ram",
    "memory-device",
    "",
    "virtio-gpu-rutabaga",
    "virtio-9p-device",
    "qxl",
]


@dataclass(frozen=True)
class Outcome:
    stdout: str
    stderr: str
    status: int


def run_qemu(version: str, argv: Sequence[str]) -> Outcome:
    proc = subprocess.run(
        qemu_command(version, argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
        env=dict(os.environ, LC_ALL="C"),
    )
    return Outcome(proc.stdout.decode(), proc.stderr.decode(), proc.returncode)


def run_memdevd(version: str, argv: Sequence[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["-memdevd", f"version={version}", *argv], prog=PROG)
    return Outcome(out.getvalue(), err.getvalue(), status)


def need_qemu(version: str) -> None:
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} is not installed")
    problem = mask_problem(version)
    if problem is not None:
        pytest.skip(problem)


def names(version: str) -> list[str]:
    rec = recording("x86_64", get_release(version))
    return [*rec.device_type_names(), *sorted(rec.device_aliases()), *ERROR_NAMES]


_RUNS: dict[str, dict[str, Outcome]] = {}


def qemu_runs(version: str) -> dict[str, Outcome]:
    """QEMU's answer to ``-device NAME,help`` for every name, run once."""
    if version not in _RUNS:
        need_qemu(version)
        todo = names(version)
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = pool.map(lambda n: run_qemu(version, ["-device", f"{n},help"]), todo)
            _RUNS[version] = dict(zip(todo, outcomes, strict=True))
    return _RUNS[version]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("spelling", ["help", "?", "driver=help"])
def test_device_help_lists_what_qemu_lists(version: str, spelling: str) -> None:
    need_qemu(version)
    qemu = run_qemu(version, ["-device", spelling])
    assert qemu.status == 0 and qemu.stdout.count('name "') > 300, qemu
    assert run_memdevd(version, ["-device", spelling]) == qemu


@pytest.mark.parametrize("version", VERSIONS)
def test_every_type_and_alias_helps_as_qemu(version: str) -> None:
    runs = qemu_runs(version)
    differ: list[str] = []
    for name, qemu in runs.items():
        ours = run_memdevd(version, ["-device", f"{name},help"])
        if name in WRONG_WITHOUT_MACHINE[version]:
            assert ours.status == 0 and ours.stdout.startswith(f"{name} options:\n"), name
            assert "acpi-mem-hotplug" not in ours.stdout, name
            continue
        assert qemu.status >= 0, (name, qemu)
        if ours != qemu:
            differ.append(f"{name}: memdevd {ours!r}\n  QEMU {qemu!r}")
    assert not differ, f"{len(differ)} of {len(runs)} differ:\n" + "\n".join(differ[:10])
    assert len(runs) > 400


@pytest.mark.parametrize("version", VERSIONS)
def test_the_errors_are_qemus(version: str) -> None:
    """The error cases ran above, named: their texts and exit statuses."""
    runs = qemu_runs(version)
    assert runs["no-such-type"].stderr == (
        f"{PROG}: -device no-such-type,help: Device 'no-such-type' not found\n"
    )
    assert runs["virtio-pci"].status == 0
    assert "expects a non-abstract device type" in runs["virtio-pci"].stderr
    assert runs[""].stderr == f"{PROG}: -device ,help: Device '' not found\n"
    lost = {
        "7.2": "virtio-gpu-rutabaga",
        "10.0": "virtio-gpu-rutabaga-pci",
        "11.1": "virtio-gpu-rutabaga-pci",
    }[version]
    assert f"Device '{lost}' not found" in runs["virtio-gpu-rutabaga"].stderr
    for name in ERROR_NAMES:
        assert run_memdevd(version, ["-device", f"{name},help"]) == runs[name], name


@pytest.mark.parametrize("version", VERSIONS)
def test_memdevd_process_exits_as_qemu(version: str) -> None:
    """As a process: the list on stdout and status 0; an unknown type's error
    with status 0; 7.2's type that makes QEMU exit, with its status."""
    need_qemu(version)
    cases = [["-device", "help"], ["-device", "no-such-type,help"], ["-device", "pc-dimm,?"]]
    if version == "7.2":
        cases.append(["-device", "virtio-gpu-gl-pci,help"])
    for argv in cases:
        qemu = run_qemu(version, argv)
        proc = subprocess.run(
            [sys.executable, "-m", "memdevd", "-memdevd", f"version={version}", *argv],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        ours = Outcome(
            proc.stdout, proc.stderr.replace("memdevd: ", f"{PROG}: ", 1), proc.returncode
        )
        assert ours == qemu, argv
