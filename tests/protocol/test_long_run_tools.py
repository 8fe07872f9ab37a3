"""The long runs are one command each; here they run with tiny counts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_soak_reports_flat_memory() -> None:
    done = run("tools/soak.py", "--commands", "3000", "--batch", "10")
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    found = re.search(
        r"(\d+) commands in .* (\d+) error replies .* growth after warm-up (-?\d+) KiB", last
    )
    assert found, last
    commands, errors = int(found.group(1)), int(found.group(2))
    assert commands >= 3000
    # Exactly the one deliberate failure per 12-command cycle.
    assert errors == commands // 12


def test_long_fuzzer_runs_every_target() -> None:
    done = run(
        "tools/fuzz_long.py",
        "--parser",
        "3000",
        "--arguments",
        "300",
        "--sequences",
        "10",
        "--seed",
        "7",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for target in ("parser: 3,000 inputs", "arguments: 300 inputs", "sequences: "):
        assert target in done.stdout
    assert "no finding" in done.stdout and "FINDING" not in done.stdout
