"""The daemon's state as command handlers see it (kept free of heavy imports).

The daemon creates its :class:`Runtime` before anything has to answer a
client, so this module imports neither pydantic nor the command handlers:
they load when the first command arrives (see ``Registry(loader=...)``).

Handlers are module-level functions of the runtime (see
:mod:`memdevd.commands.declare`); what they keep between commands lives
here, beside the machine: ``x-memdevd-reset`` rebuilds the machine and
snapshots copy it, and neither resets nor saves what is here.
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
    from memdevd.qapi.json_writer import JSONText
    from memdevd.qmp.registry import Registry


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
    # The table the handlers were registered on: what query-commands and
    # query-qmp-schema list.
    registry: Registry | None = None
    # query-version's reply, encoded on first use (the version never changes).
    version_reply: JSONText | None = None
    # query-qmp-schema's reply per tuple of offered names: the table grows
    # as command modules load, and a test may unregister a command.
    schema_cache: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=dict)
    # query-memory-devices' last list (of 16 devices or more) and its
    # encoding, which a tool polling an unchanged list gets again.
    memory_devices_reply: tuple[list[Any], JSONText] | None = None
    # Every MigrationCapability and its state (migrate-set-capabilities);
    # filled from the recorded schema on first use, megabytes of JSON.
    migration_capabilities: dict[str, bool] = field(default_factory=dict)
    # monitor/fds.c: the fd sets (each {"id", "fds": [(fd, opaque)] newest
    # first}, ordered by id) and each monitor's named descriptors (getfd)
    fdsets: list[dict[str, Any]] = field(default_factory=list)
    monitor_fds: dict[str, dict[str, int]] = field(default_factory=dict)
    # -compat's policy (None: QEMU's default, accept everything) and its
    # checker over the release's introspection, made on first use
    compat: Any = None
    compat_checker: Any = None
    # qom-list-types ran QEMU's module_load_qom_all(): from then on
    # query-command-line-options lists the modules' options too.
    qom_modules_loaded: bool = False
