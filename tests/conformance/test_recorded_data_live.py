"""The committed QEMU 7.2 recording still matches what the local QEMU 7.2 answers.

Runs ``tools/record_qemu_data.py --check``, which re-records every scenario
into a temporary directory and compares with memdevd/data/qemu-7.2, ignoring
the values marked volatile.  A failure means the data is stale (QEMU was
updated) or the recorder is no longer deterministic; regenerate the data with
the command in memdevd/data/README.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QEMU_7_2 = "/usr/bin/qemu-system-x86_64"


@pytest.mark.live_qemu
@pytest.mark.slow
def test_recorded_qemu_7_2_data_is_current() -> None:
    if not os.access(QEMU_7_2, os.X_OK):
        pytest.skip(f"{QEMU_7_2} is not installed")
    version = subprocess.run(
        [QEMU_7_2, "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    if "version 7.2." not in version:
        pytest.skip(f"{QEMU_7_2} is not QEMU 7.2: {version.splitlines()[0]}")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "record_qemu_data.py"),
            "--qemu",
            QEMU_7_2,
            "--version-label",
            "7.2",
            "--out",
            str(ROOT / "memdevd" / "data" / "qemu-7.2"),
            "--check",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
