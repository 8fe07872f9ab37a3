"""What every command handler shares: the runtime and error mapping.

Handlers are thin: validate ``arguments`` against a QAPI model (QEMU's
texts on failure), call the machine core, turn a
:class:`~memdevd.machine.errors.CoreError` into a
:class:`~memdevd.qmp.errors.QMPError` and return plain JSON values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from memdevd.compat import Profile
from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine
from memdevd.machine.snapshot import Snapshot
from memdevd.qapi.schema import QAPIModel, visit_model
from memdevd.qapi.visitor import VisitError
from memdevd.qmp.errors import QMPError
from memdevd.qmp.faults import FaultTable

M = TypeVar("M", bound=QAPIModel)


@dataclass
class Runtime:
    """The daemon's state as command handlers see it."""

    machine: Machine
    profile: Profile
    # Ask the daemon to shut down: (reason for SHUTDOWN, exit status).
    request_shutdown: Callable[[str], None] = lambda reason: None
    # Builds the start-up machine again (x-memdevd-reset); None: cannot.
    rebuild: Callable[[], Machine] | None = None
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    # The server's injected faults (x-memdevd-inject-fault).
    faults: FaultTable | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_args(model: type[M], args: dict[str, Any]) -> M:
    try:
        return visit_model(model, args)
    except VisitError as exc:
        raise QMPError(exc.desc) from None


def qmp_error(exc: CoreError) -> QMPError:
    return QMPError(exc.desc, exc.error_class.value)


T = TypeVar("T")


def core(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call into the machine core, mapping its errors to QMP errors."""
    try:
        return fn(*args, **kwargs)
    except CoreError as exc:
        raise qmp_error(exc) from None
