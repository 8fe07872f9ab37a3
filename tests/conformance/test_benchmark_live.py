"""The benchmark script runs (quick sizes) and reports every measure.

No numbers are asserted: they belong to the benchmark's output and
docs/performance.md, not to tests on a noisy machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import qemu_binary

pytestmark = pytest.mark.live_qemu

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_reports_every_measure(tmp_path: Path) -> None:
    if qemu_binary("7.2") is None:
        pytest.skip("QEMU 7.2 not installed")
    raw = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--json", str(raw)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = done.stdout
    for measure in (
        "start to greeting",
        "start to first reply",
        "RSS after start",
        "RSS after the first reply",
        "query-version p50",
        "client and server on two CPUs",
        "pipelined throughput",
        "16 clients aggregate",
        "object-add+device_add pair #16",
        "query-memory-devices, 16 DIMMs",
        "RSS per DIMM",
        "qom-set requested-size",
        "Cost growth",
        "A test's VM through memdevd.testing",
        "Fleet",
    ):
        assert measure in report, measure
    numbers = json.loads(raw.read_text())
    for target in ("qemu", "memdevd", "floor"):
        assert numbers[target]["greet-s"] > 0 and numbers[target]["rss-start-kib"] > 0
        assert numbers[target]["ready-s"] > 0
        assert len(numbers[target]["greet-all-s"]) == numbers["starts"] == 2
    assert [s["vms"] for s in numbers["fleet"]["sizes"]] == [1, 5, 20]
    assert numbers["fleet"]["idle-vm-kib"] > 0
    assert set(numbers["fixture"]) == {"qemu", "memdevd", "fleet"}
    assert "one more idle VM" in report
