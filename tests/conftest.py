"""Test-suite-wide pytest configuration.

CI runs the suite on two pytest-xdist workers (README, .ci/run: ``-n 2
--dist loadgroup``).  Each test file is one group, so a file's module fixtures
(the live layers compute every comparison of a file at once) run once, on
one worker; the files that bind fixed host ports (VNC's 5900+N) or run a
private libvirtd share one group, so they never run side by side.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

#: Files that bind VNC ports (test_display_live's fixed displays, a held
#: port, libvirt's autoport), start libvirtd, or make host network devices
#: (test_net_live's named taps, the corpus' taps and network namespaces,
#: which keep a tap busy for the other): run one after another.
HOST_PORT_FILES = (
    "tests/conformance/test_display_live.py",
    "tests/protocol/test_display.py",
    "tests/conformance/test_net_live.py",
    "tests/conformance/test_corpus_live.py",
    "tests/libvirt/",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: pytest-xdist reads the groups in its own hook.
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = "host-ports" if path.startswith(HOST_PORT_FILES) else path
        item.add_marker(pytest.mark.xdist_group(group))
