"""Fixtures for the libvirt end-to-end tests: a private libvirtd per test.

Owns skipping (not root, libvirt or util-linux's unshare missing: see
:func:`libvirt_harness.unavailable_reason`) and the cleanup check every
libvirt test gets: after the harness closed, no process it started is left
and the host's own libvirt paths are as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from libvirt_harness import LibvirtHarness, host_libvirt_state, unavailable_reason


@pytest.fixture
def libvirt_harness() -> Iterator[LibvirtHarness]:
    """A started private libvirtd (emulators run as root; see the harness)."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    before = host_libvirt_state()
    harness = LibvirtHarness().start()
    try:
        yield harness
    finally:
        report = harness.close()
        assert not report.survivors, f"processes outlived SIGKILL: {report}"
        assert report.root_removed, f"{harness.root} not removed"
        assert host_libvirt_state() == before, "the host's libvirt paths changed"
