"""``-memdevd kvm=auto`` against real QEMU on hosts with working, broken and absent KVM.

Owns the promise of ``kvm=auto`` (the libvirt entry point's default): on the
host it runs on, memdevd finds what QEMU's ``kvm_init()`` finds and says so
as QEMU does: the lines on stderr (QEMU 7.2's bare ``fprintf`` lines, 10.0's
``error_report`` with the option's location), the TCG fallback or exit
status 1, and ``query-kvm`` afterwards.

The kinds of host come from one host: each run is in a private mount
namespace whose /dev is made for it (``kvm_host.in_kvm_namespace``): no
/dev/kvm, a /dev/kvm this user may not open, one that opens but answers no
KVM ioctl, and the host's own KVM device (whatever it does here; equal
answers are expected either way).  Machine ``none`` has no vCPU, as in
libvirt's probe, so a KVM that aborts on a vCPU reset does not show here;
that case is ``tests/unit/test_kvm_hosts.py``'s.  Needs root.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kvm_host import HOST_KINDS, KvmRun, in_kvm_namespace, kvm_namespace_problem, qemu_argv
from kvm_host import run_query_kvm as run
from live_qemu import QEMU_VERSIONS, qemu_binary

pytestmark = pytest.mark.live_qemu

PROG = "qemu-system-x86_64"

#: How management software asks for KVM: libvirt's probe, a fallback list,
#: KVM or nothing, and the old switch.
ACCEL_ARGVS: dict[str, list[str]] = {
    "machine-accel-kvm-tcg": ["-machine", "none,accel=kvm:tcg"],
    "accel-kvm-then-tcg": ["-machine", "none", "-accel", "kvm", "-accel", "tcg"],
    "accel-kvm-only": ["-machine", "none", "-accel", "kvm"],
    "enable-kvm": ["-machine", "none", "-enable-kvm"],
}


@pytest.fixture(scope="module")
def tmp() -> Iterator[Path]:
    problem = kvm_namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    path = Path(tempfile.mkdtemp(prefix="memdevd-kvm-hosts-"))
    path.chmod(0o777)  # the "denied" host runs without root's capabilities
    yield path
    shutil.rmtree(path, ignore_errors=True)


def normalised(run: KvmRun) -> tuple[int | None, list[str], object]:
    """Exit status, stderr with memdevd's program name as QEMU's, query-kvm."""
    printed = [
        PROG + line[len("memdevd") :] if line.startswith("memdevd:") else line
        for line in run.printed
    ]
    return run.status, printed, run.reply


@pytest.mark.parametrize("accel", ACCEL_ARGVS)
@pytest.mark.parametrize("kind", HOST_KINDS)
@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_kvm_auto_finds_what_qemu_finds(tmp: Path, version: str, kind: str, accel: str) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    argv = ACCEL_ARGVS[accel]
    sock = tmp / f"{version}-{kind}-{accel}"
    qemu = run(in_kvm_namespace(kind, qemu_argv(binary, argv, sock.with_suffix(".q"))),
               sock.with_suffix(".q"))  # fmt: skip
    assert qemu.status != 125, f"the namespace could not be set up: {qemu.printed}"
    memdevd = [sys.executable, "-m", "memdevd", "-memdevd", f"version={version},kvm=auto"]
    ours = run(in_kvm_namespace(kind, qemu_argv(memdevd[0], [*memdevd[1:], *argv],
                                                sock.with_suffix(".m"))),
               sock.with_suffix(".m"))  # fmt: skip
    assert normalised(ours) == normalised(qemu)
    if kind != "host":
        # These hosts have no usable KVM whatever this machine has.
        assert not qemu.kvm_enabled
