"""Run-state actions and the queries of subsystems the misc options leave
empty: ``set-action``, ``watchdog-set-action``, ``query-tpm`` and
``query-migrate``.

The actions (``-action``, ``-no-reboot``, ``-no-shutdown``,
``-watchdog-action`` at start-up) are kept on the machine: a shutdown
action ``pause`` stops the VM instead of ending the process, a reboot
action ``shutdown`` turns ``system_reset`` into a shutdown request (QEMU's
``qemu_system_reset_request``).  memdevd has no TPM (``-tpmdev`` is
refused), so ``query-tpm`` lists none.  ``-incoming defer`` starts the VM
in the ``inmigrate`` state, where ``cont`` only arms the start;
``migrate-incoming`` is checked as QEMU checks it and then refused as not
emulated (nothing listens), so ``query-migrate`` answers as QEMU does
before any migration.
"""

from __future__ import annotations

from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, arguments, command, no_args
from memdevd.qmp.errors import QMPError
from memdevd.qmp.session import Session

#: migrate_uri_parse() / qemu_start_incoming_migration(): the transports.
_SCHEMES_7_2 = ("tcp:", "unix:", "vsock:", "rdma:", "exec:", "fd:")
_SCHEMES = ("exec:", "rdma:", "tcp:", "unix:", "vsock:", "fd:", "file:")


@command("set-action", allow_preconfig=True)
def set_action(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    # qmp_set_action: every member given is set, after the whole visit.
    rt.machine.run_actions.update(arguments(rt, "set-action", args))


@command("watchdog-set-action")
def watchdog_set_action(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    rt.machine.run_actions["watchdog"] = arguments(rt, "watchdog-set-action", args)["action"]


@command("query-tpm")
def query_tpm(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return []


@command("query-migrate")
def query_migrate(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    # fill_source_migration_info() of a VM that never migrated: nothing.
    return {}


@command("migrate-incoming")
def migrate_incoming(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    parsed = arguments(rt, "migrate-incoming", args)
    machine = rt.machine
    # (QEMU's first check, "already been started", never applies: memdevd
    # starts none.)
    if machine.runstate != "inmigrate":
        raise QMPError(M.MIGRATE_INCOMING_NOT_SPECIFIED)
    uri = parsed.get("uri")
    schemes: tuple[str, ...]
    if not rt.release.migrate_incoming_channels:
        machine.emit("MIGRATION", {"status": "setup"})
        schemes = _SCHEMES_7_2
    else:
        channels = parsed.get("channels") or None
        if (uri is None) == (channels is None):
            raise QMPError(M.MIGRATE_URI_OR_CHANNELS)
        if channels is not None and len(channels) != 1:
            raise QMPError(M.MIGRATE_ONE_CHANNEL)
        schemes = _SCHEMES
    if uri is not None and not uri.startswith(schemes):
        raise QMPError(M.MIGRATE_UNKNOWN_PROTOCOL.format(uri))
    raise QMPError(M.INCOMING_MIGRATION_NOT_EMULATED)
