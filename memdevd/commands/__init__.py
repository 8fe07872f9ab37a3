"""Command handlers: the only place where the protocol meets the machine.

Each module here declares its handlers where they are written, with
:func:`~memdevd.commands.declare.command`: a handler is a module-level
function of the :class:`Runtime`, the session and the ``arguments``; its
decorator gives the command's name, the options QEMU attaches and, for a
command some emulated releases lack, the
:class:`~memdevd.releases.table.Release` field it needs.

:mod:`memdevd.commands.index`, generated from those declarations by
``python tools/gen_schemas.py`` (a test fails when it is stale), names each
module's commands in declared order.  From it :func:`declare_all` names
every command in a :class:`~memdevd.qmp.registry.Registry` and loads a
module (its handlers and QAPI models) when one of its commands is first
used; :func:`register_all` registers every module at once and
:func:`register_group` one of them, each handler bound to the runtime.
"""

from __future__ import annotations

import importlib
from functools import partial

from memdevd.commands.runtime import Runtime
from memdevd.qmp.registry import Registry


def register_group(group: str, rt: Runtime, reg: Registry) -> None:
    """Register one module's commands (``group`` is a module named in the index)."""
    from memdevd.commands.declare import register_module

    module = importlib.import_module(f"memdevd.commands.{group}").__name__
    register_module(module, rt, reg)


def register_all(reg: Registry, rt: Runtime) -> None:
    from memdevd.commands import index

    for group in index.COMMANDS:
        register_group(group, rt, reg)


def declare_all(reg: Registry, rt: Runtime) -> None:
    """The full table, each module loaded when one of its commands is first
    asked for: a process that never sends, say, qom-get or
    human-monitor-command never loads their handlers and QAPI models
    (~0.3 MiB and ~5 ms of the first command for all of them)."""
    # Imported here, not before the greeting; read at each call, since
    # tools/gen_schemas.py reloads the index it has just written.
    from memdevd.commands import index

    for group, names in index.COMMANDS.items():
        reg.declare(names, partial(register_group, group, rt))


__all__ = ["Runtime", "declare_all", "register_all", "register_group"]
