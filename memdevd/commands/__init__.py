"""Command handlers: the only place where the protocol meets the machine.

Each module registers its handlers on a :class:`~memdevd.qmp.registry.Registry`;
:func:`register_all` builds the full command table for a runtime at once,
:func:`declare_all` names every command and loads a module (its handlers
and QAPI models) when one of its commands is first used.
"""

from __future__ import annotations

import importlib
from functools import partial

from memdevd.commands.runtime import Runtime
from memdevd.qmp.registry import Registry

# Each module's commands (those of any QEMU version), in the order the
# modules register.  tests/unit/test_command_groups.py checks it against
# what the modules register.
COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "control": (
        "qmp_capabilities",
        "query-version",
        "query-commands",
        "query-status",
        "query-qmp-schema",
        "stop",
        "cont",
        "quit",
        "query-name",
        "query-kvm",
        "query-machines",
        "system_reset",
        "system_powerdown",
        "migrate-recover",
    ),
    "memory": (
        "object-add",
        "object-del",
        "device_add",
        "device_del",
        "query-memory-devices",
        "query-memory-size-summary",
        "query-memdev",
        "query-acpi-ospm-status",
        "query-sgx",
        "query-sgx-capabilities",
        "query-hv-balloon-status-report",
    ),
    "management": (
        "balloon",
        "query-balloon",
        "query-chardev",
        "migrate-set-capabilities",
        "query-migrate-capabilities",
        "query-block",
        "query-blockstats",
        "query-named-block-nodes",
        "query-iothreads",
        "query-jobs",
        "query-stats",
        "query-stats-schemas",
        "query-dirty-rate",
    ),
    "qom": (
        "qom-list",
        "qom-get",
        "qom-set",
        "qom-list-types",
        "device-list-properties",
        "qom-list-properties",
    ),
    "hmp": ("human-monitor-command",),
    "memdevd_extras": ("x-memdevd-query-memslots",),
    "testctl": (
        "x-memdevd-reset",
        "x-memdevd-snapshot",
        "x-memdevd-restore",
        "x-memdevd-query-snapshots",
        "x-memdevd-set-guest",
        "x-memdevd-query-guest",
        "x-memdevd-advance-clock",
        "x-memdevd-inject-fault",
        "x-memdevd-query-faults",
        "x-memdevd-clear-faults",
    ),
    "capabilities": (
        "query-target",
        "query-cpu-definitions",
        "query-cpu-model-expansion",
        "query-tpm-models",
        "query-tpm-types",
        "query-sev-capabilities",
        "query-command-line-options",
        "query-hotpluggable-cpus",
        "query-cpus-fast",
    ),
}


def register_group(group: str, rt: Runtime, reg: Registry) -> None:
    """Register one module's commands (``group`` is a key of COMMAND_GROUPS)."""
    from memdevd.commands.declare import register_module

    module = importlib.import_module(f"memdevd.commands.{group}").__name__
    register_module(module, rt, reg)


def register_all(reg: Registry, rt: Runtime) -> None:
    for group in COMMAND_GROUPS:
        register_group(group, rt, reg)


def declare_all(reg: Registry, rt: Runtime) -> None:
    """The full table, each module loaded when one of its commands is first
    asked for: a process that never sends, say, qom-get or
    human-monitor-command never loads their handlers and QAPI models
    (~0.3 MiB and ~5 ms of the first command for all of them)."""
    for group, names in COMMAND_GROUPS.items():
        reg.declare(names, partial(register_group, group, rt))


__all__ = ["COMMAND_GROUPS", "Runtime", "declare_all", "register_all", "register_group"]
