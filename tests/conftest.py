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
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

pytest_plugins = ["pytester"]

#: Files that use one host resource, by group: run one after another.
HOST_GROUPS: dict[str, tuple[str, ...]] = {
    # Fixed VNC ports (test_display_live's displays, a held port) and
    # libvirt's autoport from 5900, in the host's network namespace; the
    # libvirt files also run private libvirtds (their domains use user
    # networking, no tap).
    "vnc-ports": (
        "tests/conformance/test_display_live.py",
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

    return GroupScheduling(config, log)


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
