"""GENERATED FILE, do not edit: ``python tools/gen_schemas.py`` writes it from
the ``@command`` declarations in memdevd/commands/, and
tests/unit/test_command_groups.py fails when it is stale.

Each command module's commands (those of every emulated release), in the
order they are declared: the command table knows every name without
loading a handler (:func:`memdevd.commands.declare_all`).
"""

from __future__ import annotations

from typing import Final

COMMANDS: Final[dict[str, tuple[str, ...]]] = {
    "control": (
        "qmp_capabilities",
        "query-version",
        "query-commands",
        "query-status",
        "query-qmp-schema",
        "stop",
        "cont",
        "quit",
        "query-uuid",
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
        "query-iothreads",
        "query-jobs",
        "query-stats",
        "query-stats-schemas",
        "query-dirty-rate",
    ),
    "block": (
        "blockdev-add",
        "blockdev-del",
        "query-block",
        "query-blockstats",
        "block_set_io_throttle",
        "query-named-block-nodes",
        "block-set-write-threshold",
        "x-blockdev-set-iothread",
    ),
    "net": (
        "netdev_add",
        "netdev_del",
        "set_link",
        "query-rx-filter",
        "announce-self",
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
    "runstate_actions": (
        "set-action",
        "watchdog-set-action",
        "query-tpm",
        "query-migrate",
        "migrate-incoming",
    ),
    "chardev": (
        "chardev-add",
        "chardev-change",
        "chardev-remove",
        "chardev-send-break",
        "query-chardev-backends",
        "ringbuf-write",
        "ringbuf-read",
    ),
}
