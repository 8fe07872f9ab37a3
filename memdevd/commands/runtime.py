"""The daemon's state as command handlers see it (kept free of heavy imports).

The daemon creates its :class:`Runtime` before anything has to answer a
client, so this module imports neither pydantic nor the command handlers:
they load when the first command arrives (see ``Registry(loader=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd.machine.machine import Machine
from memdevd.qmp.faults import FaultTable
from memdevd.records import record
from memdevd.releases.table import Release

if TYPE_CHECKING:
    from memdevd.machine.snapshot import Snapshot


@record
class Runtime:
    """The daemon's state as command handlers see it."""

    machine: Machine
    release: Release
    # Ask the daemon to shut down: (reason for SHUTDOWN, exit status).
    request_shutdown: Callable[[str], None] = lambda reason: None
    # Builds the start-up machine again (x-memdevd-reset); None: cannot.
    rebuild: Callable[[], Machine] | None = None
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    # The server's injected faults (x-memdevd-inject-fault).
    faults: FaultTable | None = None
    extra: dict[str, Any] = field(default_factory=dict)
