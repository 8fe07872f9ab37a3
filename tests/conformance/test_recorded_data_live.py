"""The committed QEMU 7.2 recording still matches what the local QEMU 7.2 answers.

Runs ``tools/record_qemu_data.py --check --report``, which re-records every
scenario into a temporary directory and compares with memdevd/targets/x86_64/data/qemu-7.2,
ignoring the values marked volatile, part by part: everything recorded
under TCG, then each KVM part (libvirt's KVM probe session, each KVM vCPU
scenario) on its own.  Before recording a KVM part the recorder finds out
whether KVM runs that part's command line on this host; where it does not
(no /dev/kvm, no permission, QEMU exits or aborts under KVM, e.g. nested
virtualization rejecting an MSR with ``-cpu host``) that part is skipped
here with QEMU's reason, and the TCG part and the other KVM parts are still
compared.  The device catalog (devices.json) is a part of its own; 10.0's
and 11.1's are checked too (``--only devices.json``, with the module
directory masked as recorded).  A failure means the data is stale (QEMU was updated) or the
recorder is no longer deterministic; regenerate the data with the command
in memdevd/targets/x86_64/data/README.md.

The aarch64 recordings (memdevd/targets/aarch64/data/qemu-*, of
qemu-system-aarch64 7.2, 10.0 and 11.1) are checked the same way where
the binary is installed: every file of record_qemu_data.py ``--target
aarch64`` (slow: a few minutes per release), and pci.json, misc.json and
cpu-models.json by their own recorders.

What CI runs is bounded: QEMU 7.2's x86 recording (the one Debian's
security updates move) is recorded again in full, and every recording's
QEMU is checked to be the build it was recorded from (its ``--version``
line, which names the Debian package; the recorders are deterministic, so
the same build gives the same recording).  Recording every other release
and target again takes some ten minutes of CPU more; it runs with
``MEMDEVD_LIVE_SWEEP=all`` (README: the long live run).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import mask_problem, module_masks, qemu_binary

ROOT = Path(__file__).resolve().parents[2]
QEMU_7_2 = "/usr/bin/qemu-system-x86_64"
DATA = ROOT / "memdevd" / "targets" / "x86_64" / "data" / "qemu-7.2"
#: Whether every recording is made again (else only x86 7.2's, see above).
RECORD_ALL = os.environ.get("MEMDEVD_LIVE_SWEEP") == "all"


def _only_in_the_long_run() -> None:
    if not RECORD_ALL:
        pytest.skip(
            "recorded again with MEMDEVD_LIVE_SWEEP=all; CI checks that QEMU "
            "is the build recorded (test_recorded_qemu_is_the_installed_build)"
        )


def _parts() -> list[str]:
    """The parts the committed recording has: TCG, each KVM part, the device catalog."""
    meta = json.loads((DATA / "meta.json").read_text(encoding="utf-8"))
    kvm = [f"probe-{a}" for a in meta["probe-sessions"] if a == "kvm"]
    cpus = json.loads((DATA / "cpus.json").read_text(encoding="utf-8"))
    kvm += [f"cpu-{c}" for c in meta["cpu-scenarios"] if cpus[c]["accel"] == "kvm"]
    devices = ["devices"] if (DATA / "devices.json").exists() else []
    return ["tcg", *kvm, *devices]


@functools.cache
def _check() -> dict[str, Any]:
    """The recorder's check, run once for all parts: its report by part, or
    ``{"failed": output}`` when it could not compare."""
    if not os.access(QEMU_7_2, os.X_OK):
        pytest.skip(f"{QEMU_7_2} is not installed")
    version = subprocess.run(
        [QEMU_7_2, "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    if "version 7.2." not in version:
        pytest.skip(f"{QEMU_7_2} is not QEMU 7.2: {version.splitlines()[0]}")
    with tempfile.TemporaryDirectory(prefix="memdevd-check-report-") as tmp:
        report_path = Path(tmp) / "report.json"
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "record_qemu_data.py"),
                "--qemu",
                QEMU_7_2,
                "--version-label",
                "7.2",
                "--out",
                str(DATA),
                "--check",
                "--report",
                str(report_path),
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            cwd=ROOT,
        )
        if not report_path.exists():  # the recorder itself failed: every part fails
            return {"failed": result.stdout + result.stderr}
        report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    return report


@pytest.mark.live_qemu
@pytest.mark.slow
@pytest.mark.parametrize("part", _parts())
def test_recorded_qemu_7_2_data_is_current(part: str) -> None:
    report = _check()
    assert "failed" not in report, report.get("failed")
    result = report[part]
    if "skipped" in result:
        pytest.skip(f"{part}: {result['skipped']}")
    assert result["differences"] == [], "\n".join(result["differences"])


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", ["10.0", "11.1"])
def test_recorded_device_catalog_is_current(version: str) -> None:
    """10.0's and 11.1's devices.json, recorded again alone (a few minutes:
    a QEMU or two per device type for its qom-list) and compared."""
    _only_in_the_long_run()
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    data = DATA.parent / f"qemu-{version}"
    masks: list[str] = json.loads((data / "meta.json").read_text(encoding="utf-8"))["mask-dirs"]
    if masks and os.geteuid() != 0:
        pytest.skip(f"masking {masks} from QEMU {version} needs root")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "record_qemu_data.py"),
            *("--qemu", binary, "--version-label", version, "--out", str(data)),
            *(f"--mask-dir={d}" for d in masks),
            *("--check", "--only", "devices.json"),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.live_qemu
@pytest.mark.parametrize("tool", ["record_pci_data.py", "record_misc_data.py"])
@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_recorded_pci_and_misc_data_are_current(version: str, tool: str) -> None:
    """pci.json (query-pci's identities) and misc.json (-trace/-d help) are
    written by recorders of their own; each is recorded again and compared."""
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    problem = mask_problem(version)
    if problem is not None:
        pytest.skip(problem)
    masks = module_masks(version)
    out = DATA.parent / f"qemu-{version}"
    argv = [sys.executable, str(ROOT / "tools" / tool), "--qemu", binary, "--out", str(out)]
    if tool == "record_pci_data.py":
        argv += [f"--mask-dir={d}" for d in masks]  # it starts its QEMUs masked
    elif masks:
        mounts = " && ".join(f"mount -t tmpfs none {d}" for d in masks)
        argv = ["unshare", "--mount", "sh", "-c", f'{mounts} && exec "$0" "$@"', *argv]
    result = subprocess.run([*argv, "--check"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.live_qemu
@pytest.mark.parametrize(
    "recording",
    sorted(str(p.relative_to(DATA.parents[2])) for p in DATA.parents[2].glob("*/data/qemu-*")),
)
def test_recorded_qemu_is_the_installed_build(recording: str) -> None:
    """The QEMU a recording was made from is the one installed: the first
    line of its ``--version`` (QEMU's version and Debian's package) is the
    recording's.  A Debian update of a QEMU fails here first; record that
    release again (its README's command) and run MEMDEVD_LIVE_SWEEP=all."""
    data = DATA.parents[2] / recording
    target = data.parts[-3]
    version = data.name.removeprefix("qemu-")
    binary = qemu_binary(version, target)
    if binary is None:
        pytest.skip(f"qemu-system-{target} {version} is not installed")
    meta = json.loads((data / "meta.json").read_text(encoding="utf-8"))
    output = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert output.splitlines()[0] == meta["qemu-version-output"]


# --------------------------------------------------------------------------- aarch64

AARCH64_DATA = ROOT / "memdevd" / "targets" / "aarch64" / "data"
AARCH64_BINARIES = {
    "7.2": ("MEMDEVD_QEMU_AARCH64_7_2", "/usr/bin/qemu-system-aarch64"),
    "10.0": ("MEMDEVD_QEMU_AARCH64_10_0", "/opt/qemu-10.0/bin/qemu-system-aarch64"),
    "11.1": ("MEMDEVD_QEMU_AARCH64_11_1", "/opt/qemu-11.1/bin/qemu-system-aarch64"),
}


def _aarch64(version: str) -> tuple[str, Path, list[str]]:
    """qemu-system-aarch64 of ``version``, its recording and the module
    directories the recording hid from it; skips where one is missing."""
    env, default = AARCH64_BINARIES[version]
    binary = os.environ.get(env) or default
    if not os.access(binary, os.X_OK):
        pytest.skip(f"qemu-system-aarch64 {version} is not installed ({binary})")
    data = AARCH64_DATA / f"qemu-{version}"
    if not (data / "meta.json").exists():
        pytest.skip(f"no aarch64 recording of {version}")
    meta = json.loads((data / "meta.json").read_text(encoding="utf-8"))
    masks = [d for d in meta["mask-dirs"] if os.path.isdir(d)]
    if masks and os.geteuid() != 0:
        pytest.skip(f"masking {masks} from qemu-system-aarch64 {version} needs root")
    return binary, data, masks


@pytest.mark.live_qemu
@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(AARCH64_BINARIES))
def test_recorded_aarch64_data_is_current(version: str) -> None:
    """Every file record_qemu_data.py --target aarch64 writes, recorded again
    and compared (the KVM parts: not recordable on an x86 host)."""
    _only_in_the_long_run()
    binary, data, masks = _aarch64(version)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "record_qemu_data.py"),
            *("--target", "aarch64", "--qemu", binary, "--version-label", version),
            *("--out", str(data)),
            *(f"--mask-dir={d}" for d in masks),
            "--check",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.live_qemu
@pytest.mark.parametrize(
    "tool", ["record_pci_data.py", "record_misc_data.py", "record_cpu_models.py"]
)
@pytest.mark.parametrize("version", sorted(AARCH64_BINARIES))
def test_recorded_aarch64_pci_misc_and_cpu_data_are_current(version: str, tool: str) -> None:
    """pci.json, misc.json and cpu-models.json of the aarch64 recordings."""
    _only_in_the_long_run()
    binary, data, masks = _aarch64(version)
    argv = [sys.executable, str(ROOT / "tools" / tool), "--target", "aarch64"]
    argv += ["--qemu", binary, "--out", str(data)]
    if tool == "record_pci_data.py":
        argv += [f"--mask-dir={d}" for d in masks]
    elif masks:
        mounts = " && ".join(f"mount -t tmpfs none {d}" for d in masks)
        argv = ["unshare", "--mount", "sh", "-c", f'{mounts} && exec "$0" "$@"', *argv]
    result = subprocess.run([*argv, "--check"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
