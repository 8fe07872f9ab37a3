"""``@command``: a QMP command declared at its handler.

A handler is a module-level function of the runtime, the session that
sent the command and its ``arguments`` object; the decorator above it says
what QEMU attaches to the command::

    @command("query-status", allow_preconfig=True)
    def query_status(rt: Runtime, session: Session, args: dict[str, Any]) -> Any: ...

``allow_oob`` and ``allow_preconfig`` are QEMU's command options,
``is_async`` marks a handler whose reply is awaited, ``no_faults`` and
``qapi`` are memdevd's metadata (:class:`~memdevd.qmp.registry.Command`'s
``extra``: not subject to injected faults; argument model and return type
for query-qmp-schema), and ``only_if`` names the boolean
:class:`~memdevd.releases.table.Release` field without which the command
does not exist (``only_if="has_hv_balloon"``).

:func:`register_module` registers a module's declarations in the order they
are written, each handler bound to the runtime as a method is bound to its
object (:class:`types.MethodType`): no closure per runtime, and Python 3.11
calls a bound method as it calls a closure, without a C-level call in
between (measured: ~4 ns more per command than a closure, where
``functools.partial`` costs ~25 ns more).  The lazy table
(:mod:`memdevd.commands.index`) is generated from these declarations.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from functools import partial
from types import MethodType
from typing import TYPE_CHECKING, Any, TypeVar

from memdevd.commands.runtime import Runtime
from memdevd.releases.table import Release

if TYPE_CHECKING:
    from memdevd.qapi.schema import QAPIModel
    from memdevd.qmp.registry import Registry
    from memdevd.qmp.session import Session

CommandHandler = Callable[[Runtime, "Session", dict[str, Any]], Any]
HandlerT = TypeVar("HandlerT", bound=CommandHandler)

__all__ = [
    "CommandHandler",
    "Declaration",
    "HandlerT",
    "command",
    "declarations",
    "register_module",
]


class Declaration:
    """One command as its decorator declared it."""

    # A plain class, not a record: some seventy are made while the first
    # command waits, and a record compiles its __init__ at the second one.
    __slots__ = ("allow_oob", "allow_preconfig", "extra", "handler", "is_async", "name", "only_if")

    def __init__(
        self,
        name: str,
        handler: CommandHandler,
        allow_oob: bool,
        allow_preconfig: bool,
        is_async: bool,
        only_if: str | None,
        extra: dict[str, Any],
    ) -> None:
        self.name = name
        self.handler = handler
        self.allow_oob = allow_oob
        self.allow_preconfig = allow_preconfig
        self.is_async = is_async
        # A bool field of Release; None: every release has the command.
        self.only_if = only_if
        # Registry.register's extra keywords (Command.extra).
        self.extra = extra

    def __repr__(self) -> str:
        return f"Declaration({self.name!r}, {self.handler.__qualname__})"

    def offered_by(self, release: Release) -> bool:
        return self.only_if is None or bool(getattr(release, self.only_if))


# Module name -> its declarations, in the order they were made.
_DECLARED: dict[str, list[Declaration]] = {}


def command(
    name: str,
    *,
    allow_oob: bool = False,
    allow_preconfig: bool = False,
    is_async: bool = False,
    only_if: str | None = None,
    no_faults: bool = False,
    qapi: tuple[type[QAPIModel], Any] | None = None,
) -> Callable[[HandlerT], HandlerT]:
    """Declare the decorated function the handler of QMP command ``name``."""
    if only_if is not None:
        _check_release_field(only_if)
    # Only the keys given, so that Command.extra is {} for most commands.
    extra: dict[str, Any] = {}
    if no_faults:
        extra["no_faults"] = True
    if qapi is not None:
        extra["qapi"] = qapi

    def declare(fn: HandlerT) -> HandlerT:
        decl = Declaration(name, fn, allow_oob, allow_preconfig, is_async, only_if, extra)
        _add(fn.__module__, decl)
        return fn

    return declare


def _add(module: str, decl: Declaration) -> None:
    declared = _DECLARED.setdefault(module, [])
    for i, old in enumerate(declared):
        if old.name != decl.name:
            continue
        # importlib.reload() runs the module's decorators again: the same
        # handler takes its old place; another one is a mistake.
        if old.handler.__qualname__ != decl.handler.__qualname__:
            raise ValueError(f"command {decl.name!r} declared twice in {module}")
        declared[i] = decl
        return
    declared.append(decl)


def _check_release_field(name: str) -> None:
    """A condition is a bool field of Release, never a version comparison."""
    kinds = {f.name: f.type for f in dataclasses.fields(Release)}
    if kinds.get(name) not in (bool, "bool"):
        raise TypeError(f"only_if={name!r} is not a bool field of Release")


def declarations(module: str) -> tuple[Declaration, ...]:
    """The commands ``module`` (a module name) declares, in order; imports it."""
    importlib.import_module(module)
    return tuple(_DECLARED.get(module, ()))


def _target_has(rt: Runtime, name: str) -> bool:
    """Whether the emulated binary has a QEMU command: its recording lists
    it (qemu-system-aarch64 has query-gic-capabilities, no query-sgx);
    memdevd's own (``x-memdevd-*``) are everywhere."""
    return name.startswith("x-memdevd-") or name in rt.machine.recording.command_order


def _stub(text: str, rt: Runtime, session: Any, args: dict[str, Any]) -> Any:
    """A command the target's binary has only as QEMU's stub
    (``Board.stub_commands``): its arguments checked, then its error."""
    from memdevd.commands.base import no_args
    from memdevd.qmp.errors import QMPError

    no_args(args)
    raise QMPError(text)


def register_module(module: str, rt: Runtime, reg: Registry) -> None:
    """Register ``module``'s commands that ``rt.release`` has, bound to ``rt``."""
    # query-commands and query-qmp-schema list the table they are on.
    rt.registry = reg
    stubs = rt.machine.config.board.stub_commands
    for decl in _DECLARED.get(module, ()):
        if decl.offered_by(rt.release) and _target_has(rt, decl.name):
            handler = decl.handler if decl.name not in stubs else partial(_stub, stubs[decl.name])
            bound: Callable[..., Any] = MethodType(handler, rt)
            if rt.compat is not None:
                from memdevd.commands.base import with_compat_policy

                bound = with_compat_policy(rt, decl.name, bound)
            reg.register(
                decl.name,
                bound,
                allow_oob=decl.allow_oob,
                allow_preconfig=decl.allow_preconfig,
                is_async=decl.is_async,
                **decl.extra,
            )
