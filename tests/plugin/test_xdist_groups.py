"""CI's xdist scheduling (tests/conftest.py) in a small project of its own.

Under ``-n 2 --dist loadgroup`` a test file runs on one worker, the files of
a host-resource group on one worker, and the groups start longest first by
``tests/group_weights.json`` (not by number of tests, xdist's own order).
pytest 9 once made every test a group of its own without a word.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
TOOL = TESTS.parent / "tools" / "group_weights.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("xdist") is None, reason="pytest-xdist is not installed"
)

# Each test appends "<worker> <file>" to the log: a worker's lines are in the
# order it ran them.
_BODY = """
import os

def _log(name):
    with open(os.environ["GROUPS_LOG"], "a") as out:
        out.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + " " + name + "\\n")
"""


def _make_project(pytester: pytest.Pytester, files: dict[str, int]) -> Path:
    pytester.makeini("[pytest]\n")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "conftest.py").write_text((TESTS / "conftest.py").read_text())
    for path, count in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        tests = "".join(f"\ndef test_{i}():\n    _log({path!r})\n" for i in range(count))
        target.write_text(_BODY + tests)
    return pytester.path / "groups.log"


def _run(
    pytester: pytest.Pytester, log: Path, monkeypatch: pytest.MonkeyPatch, tests: int
) -> list[str]:
    """Run the project as CI does; each test's log line, in order per worker."""
    monkeypatch.setenv("GROUPS_LOG", str(log))
    # (this project's files are no part of the suite's timing report)
    monkeypatch.delenv("MEMDEVD_GROUP_TIMES", raising=False)
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=tests)
    lines = log.read_text().splitlines()
    assert len(lines) == tests
    return lines


def test_a_file_and_a_host_group_run_on_one_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "tests/unit/test_a.py": 6,
        "tests/unit/test_b.py": 6,
        "tests/conformance/test_net_live.py": 3,  # host-net
        "tests/conformance/test_corpus_live.py": 3,  # host-net
        "tests/conformance/test_display_live.py": 2,  # vnc-ports
        "tests/libvirt/test_libvirt_x.py": 2,  # vnc-ports
    }
    log = _make_project(pytester, files)
    workers: dict[str, set[str]] = defaultdict(set)
    for line in _run(pytester, log, monkeypatch, sum(files.values())):
        worker, path = line.split()
        workers[path].add(worker)
    assert set(workers) == set(files)
    assert all(len(ran_on) == 1 for ran_on in workers.values()), workers
    assert (
        workers["tests/conformance/test_net_live.py"]
        == workers["tests/conformance/test_corpus_live.py"]
    )
    assert (
        workers["tests/conformance/test_display_live.py"]
        == workers["tests/libvirt/test_libvirt_x.py"]
    )


def test_groups_start_longest_first(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The long groups have the fewest tests: xdist's own order would start
    # the short ones.
    files = {
        "tests/unit/test_long.py": 1,
        "tests/unit/test_longer.py": 2,
        "tests/unit/test_short.py": 8,
        "tests/unit/test_shorter.py": 9,
    }
    log = _make_project(pytester, files)
    weights = {
        "tests/unit/test_longer.py": {"seconds": 100.0, "tests": 2},
        "tests/unit/test_long.py": {"seconds": 50.0, "tests": 1},
        "tests/unit/test_short.py": {"seconds": 1.0, "tests": 8},
        # test_shorter.py: not measured, 9 tests at the mean 151 / 11 s
    }
    (pytester.path / "tests" / "group_weights.json").write_text(json.dumps(weights))
    first: dict[str, str] = {}
    for line in _run(pytester, log, monkeypatch, sum(files.values())):
        worker, path = line.split()
        first.setdefault(worker, path)
    assert set(first.values()) == {"tests/unit/test_longer.py", "tests/unit/test_shorter.py"}


def test_group_weights_tool_sums_a_report_by_group(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("group_weights", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    sys.modules["group_weights"] = tool
    spec.loader.exec_module(tool)
    report = [
        {"file": "tests/a.py", "group": "tests/a.py", "seconds": 2.04, "tests": 3},
        {"file": "tests/x.py", "group": "host", "seconds": 5.0, "tests": 1},
        {"file": "tests/y.py", "group": "host", "seconds": 1.0, "tests": 2},
    ]
    table = tool.weights([json.dumps(entry) for entry in report] + [""])
    assert list(table.items()) == [
        ("host", {"seconds": 6.0, "tests": 3}),
        ("tests/a.py", {"seconds": 2.0, "tests": 3}),
    ]
    # several runs: each group's mean over the runs that ran it
    later = {"host": {"seconds": 4.0, "tests": 3}, "tests/b.py": {"seconds": 9.0, "tests": 1}}
    assert tool.mean([table, later]) == {
        "tests/b.py": {"seconds": 9.0, "tests": 1},
        "host": {"seconds": 5.0, "tests": 3},
        "tests/a.py": {"seconds": 2.0, "tests": 3},
    }
