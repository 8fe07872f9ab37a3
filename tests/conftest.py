"""Test-suite-wide pytest configuration.

CI runs the suite on two pytest-xdist workers (README, .ci/run: ``-n 2
--dist loadgroup``).  Each test file is one group, so a file's module fixtures
(the live layers compute every comparison of a file at once) run once, on
one worker; the files that share a host resource share one group, so they
never run side by side.

xdist's own loadgroup reads ``xdist_group`` marks by renaming each item's
node id, which pytest 9 no longer lets it do (``Item.nodeid`` comes from
``Item._id``; xdist 3.8 sets ``_nodeid``): every test became a group of its
own, spread over both workers.  So this file makes the scheduler itself
(``pytest_xdist_make_scheduler``): a group is worked out from the node id's
file, the same on the controller and on the workers.

The scheduler hands the groups out on demand, one to each worker that runs
dry, in collection order; a long group handed out last runs alone at the
end.  So each worker collects the groups longest first (longest processing
time first), weighed by ``tests/group_weights.json``: the wall seconds and
tests of each group measured in CI-like runs (the mean of the runs).  A
group not in the table weighs its tests at the table's mean seconds per
test.  To refresh the table after tests move between files or grow (a
report a run; give the tool several runs' reports for their mean)::

    MEMDEVD_GROUP_TIMES=/tmp/times.jsonl .venv/bin/pytest -n 2 --dist loadgroup
    .venv/bin/python tools/group_weights.py /tmp/times.jsonl
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

#: Files that use one host resource, by group: run one after another.
HOST_GROUPS: dict[str, tuple[str, ...]] = {
    # Fixed VNC and SPICE ports (test_display_live's displays, a held port,
    # the [spice] and [vnc] groups of test_readconfig_live's files) and
    # libvirt's autoport from 5900, in the host's network namespace; the
    # libvirt files also run private libvirtds (their domains use user
    # networking, no tap).
    "vnc-ports": (
        "tests/conformance/test_display_live.py",
        "tests/conformance/test_readconfig_live.py",
        "tests/protocol/test_display.py",
        "tests/libvirt/",
    ),
    # Host network devices: test_net_live's taps, the corpus' taps and
    # network namespaces, which kept a tap busy for the other.
    "host-net": (
        "tests/conformance/test_net_live.py",
        "tests/conformance/test_corpus_live.py",
    ),
}


def _group(path: str) -> str:
    for group, prefixes in HOST_GROUPS.items():
        if path.startswith(prefixes):
            return group
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: xdist's load-by-scope scheduler, a scope being a group."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid.split("::", 1)[0])

    # The workers collect the groups longest first (pytest_collection_modifyitems
    # below); xdist's reorder by number of tests would undo that.
    config.option.loadscopereorder = False
    return GroupScheduling(config, log)


#: Each group's measured wall seconds and tests (tools/group_weights.py).
GROUP_WEIGHTS = Path(__file__).with_name("group_weights.json")


def group_weights(counts: dict[str, int]) -> dict[str, float]:
    """The expected seconds of each group, given how many tests it has."""
    table: dict[str, dict[str, float]] = (
        json.loads(GROUP_WEIGHTS.read_text()) if GROUP_WEIGHTS.exists() else {}
    )
    seconds = sum(entry["seconds"] for entry in table.values())
    tests = sum(entry["tests"] for entry in table.values())
    per_test = seconds / tests if tests else 1.0
    return {
        group: table[group]["seconds"] if group in table else count * per_test
        for group, count in counts.items()
    }


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # On an xdist worker under --dist loadgroup (the worker's own "dist" is
    # "no"; xdist sets "loadgroup" there): the groups longest first (the sort
    # is stable: a group's tests keep their order).
    if not hasattr(config, "workerinput") or not getattr(config.option, "loadgroup", False):
        return
    groups = [_group(item.nodeid.split("::", 1)[0]) for item in items]
    weight = group_weights(Counter(groups))
    order = sorted(range(len(items)), key=lambda i: (-weight[groups[i]], groups[i]))
    items[:] = [items[i] for i in order]


# The opt-in timing report (MEMDEVD_GROUP_TIMES=PATH): each process that runs
# tests (each xdist worker, or the one process without -n) appends one JSON
# line per test file to PATH when its session ends: the file, its group, its
# number of tests, the wall seconds of their setup, call and teardown (module
# fixtures included), and when the file started and ended (epoch seconds).
_TIMES_ENV = "MEMDEVD_GROUP_TIMES"
_file_times: dict[str, dict[str, float]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    if not os.environ.get(_TIMES_ENV):
        yield
        return
    start_wall, start = time.time(), time.monotonic()
    yield
    seconds = time.monotonic() - start
    path = item.nodeid.split("::", 1)[0]
    entry = _file_times.setdefault(path, {"seconds": 0.0, "tests": 0, "first": start_wall})
    entry["seconds"] += seconds
    entry["tests"] += 1
    entry["last"] = time.time()


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(_TIMES_ENV)
    if not target or not _file_times:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    lines = "".join(
        json.dumps({"file": path, "group": _group(path), "worker": worker, **entry}) + "\n"
        for path, entry in _file_times.items()
    )
    with open(target, "a") as out:  # one write per process: whole lines
        out.write(lines)
