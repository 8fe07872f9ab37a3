"""Test-suite-wide pytest configuration.

CI runs the suite on two pytest-xdist workers (README, .ci/run: ``-n 2
--dist loadgroup``).  Each test file is one group, so a file's module fixtures
(the live layers compute every comparison of a file at once) run once, on
one worker; the files that share a host resource share one group, so they
never run side by side.
"""

from __future__ import annotations

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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: pytest-xdist reads the groups in its own hook.
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item.nodeid.split("::", 1)[0])))
