"""Run-state actions and the queries of subsystems the misc options leave
empty: ``set-action``, ``watchdog-set-action``, ``query-tpm`` and
``query-migrate``.

The actions (``-action``, ``-no-reboot``, ``-no-shutdown``,
``-watchdog-action`` at start-up) are kept on the machine: a shutdown
action ``pause`` stops the VM instead of ending the process, a reboot
action ``shutdown`` turns ``system_reset`` into a shutdown request (QEMU's
``qemu_system_reset_request``).  memdevd has no TPM (``-tpmdev`` is
refused) and no migration (``-incoming`` is refused), so ``query-tpm``
lists none and ``query-migrate`` answers as QEMU does before any.
"""

from __future__ import annotations

from typing import Any

from memdevd.commands.base import Runtime, arguments, command, no_args
from memdevd.qmp.session import Session


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
