"""What every command handler shares: the runtime, its declaration and error mapping.

A handler is a module-level function of the runtime, declared with
:func:`~memdevd.commands.declare.command`.  Handlers are thin: validate
``arguments`` against a QAPI model (QEMU's texts on failure), call the
machine core, turn a :class:`~memdevd.machine.errors.CoreError` into a
:class:`~memdevd.qmp.errors.QMPError` and return plain JSON values.

The QAPI models are pydantic classes, and pydantic costs ~8 MiB and ~60 ms
to load: the control and memory commands (``qmp_capabilities``, queries,
object-add, device_add...) do not load them unless a command's arguments
need a model (:func:`no_args` checks an empty argument dict without one;
object-add and device_add visit their arguments from plain tables). Other
command modules import their models when they load.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from memdevd.commands.declare import command
from memdevd.commands.runtime import Runtime
from memdevd.machine.errors import CoreError
from memdevd.qapi.visitor import VisitError
from memdevd.qmp.errors import QMPError

if TYPE_CHECKING:
    from memdevd.qapi.schema import QAPIModel

M = TypeVar("M", bound="QAPIModel")

__all__ = ["Runtime", "arguments", "command", "core", "no_args", "parse_args", "qmp_error"]


def no_args(args: dict[str, Any]) -> None:
    """``parse_args(NoArgs, args)``, loading the models only to refuse one."""
    if args:
        from memdevd.qapi.control import NoArgs

        parse_args(NoArgs, args)


def parse_args(model: type[M], args: dict[str, Any]) -> M:
    from memdevd.qapi.schema import visit_model

    if not args and _all_optional(model):
        # No arguments for a model whose members are all optional: what the
        # visitor would build, without visiting (the common query case).
        if not model.model_fields:
            return cast(M, _shared_empty(model))
        return model.model_construct()
    try:
        return visit_model(model, args)
    except VisitError as exc:
        raise QMPError(exc.desc) from None


@cache
def _shared_empty(model: type[QAPIModel]) -> QAPIModel:
    # A model without members (every argument-less query): one instance,
    # since there is nothing in it to change.
    return model.model_construct()


@cache
def _all_optional(model: type[QAPIModel]) -> bool:
    from memdevd.qapi.schema import members_of

    return all(m.optional for m in members_of(model))


def arguments(rt: Runtime, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """The command's ``arguments`` visited as QEMU's generated marshaller
    visits them, from the release's schema (:mod:`memdevd.qapi.source_schema`):
    a boxed argument type is visited whole, an implicit one member by member;
    members in declared order, QEMU's texts on failure."""
    from memdevd.qapi.qdict import qdict_key_order
    from memdevd.qapi.source_schema import schema_of, visit_members
    from memdevd.qapi.visitor import InputVisitor

    schema = schema_of(rt.machine.recording)
    arg_type = schema.commands[name]["arg"]
    if arg_type is None:
        no_args(args)
        return {}
    v = InputVisitor(args, key_order=qdict_key_order)
    try:
        v.start_struct(None)
        out = visit_members(schema, v, arg_type)
        v.check_struct()
        v.end_struct()
    except VisitError as exc:
        raise QMPError(exc.desc) from None
    return out


def compat_checker(rt: Runtime) -> Any:
    """-compat's :class:`~memdevd.qapi.compat.PolicyChecker` over the
    release's introspection (memdevd's own commands have no features)."""
    if rt.compat_checker is None:
        from memdevd.qapi.compat import PolicyChecker

        rt.compat_checker = PolicyChecker(rt.machine.recording.qmp_schema, rt.compat)
    return rt.compat_checker


def check_command_policy(rt: Runtime, name: str) -> None:
    """qmp_dispatch's policy check of a command (after "not found")."""
    from memdevd.qapi.compat import PolicyRejected
    from memdevd.qmp.errors import COMMAND_NOT_FOUND

    try:
        compat_checker(rt).check_command(name)
    except PolicyRejected as exc:
        raise QMPError(exc.desc, COMMAND_NOT_FOUND) from None


def with_compat_policy(rt: Runtime, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` under -compat: its arguments checked as the marshaller's
    input visitor checks them, its reply written as the output visitor
    writes it (hidden members left out)."""
    from memdevd.qapi.compat import PolicyRejected

    checker = compat_checker(rt)

    async def hide_later(pending: Any) -> Any:
        return checker.hide_reply(name, await pending)

    def run(session: Any, args: dict[str, Any]) -> Any:
        try:
            checker.check_arguments(name, args)
        except PolicyRejected as exc:
            raise QMPError(exc.desc) from None
        ret = handler(session, args)
        if hasattr(ret, "__await__"):
            return hide_later(ret)
        return checker.hide_reply(name, ret)

    return run


def qmp_error(exc: CoreError) -> QMPError:
    return QMPError(exc.desc, exc.error_class.value)


T = TypeVar("T")


def core(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call into the machine core, mapping its errors to QMP errors."""
    try:
        return fn(*args, **kwargs)
    except CoreError as exc:
        raise qmp_error(exc) from None
