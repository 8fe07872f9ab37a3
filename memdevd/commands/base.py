"""What every command handler shares: the runtime and error mapping.

Handlers are thin: validate ``arguments`` against a QAPI model (QEMU's
texts on failure), call the machine core, turn a
:class:`~memdevd.machine.errors.CoreError` into a
:class:`~memdevd.qmp.errors.QMPError` and return plain JSON values.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from memdevd.machine.errors import CoreError
from memdevd.qapi.schema import QAPIModel, members_of, visit_model
from memdevd.qapi.visitor import VisitError
from memdevd.qmp.errors import QMPError
from memdevd.runtime import Runtime

M = TypeVar("M", bound=QAPIModel)

__all__ = ["Runtime", "core", "parse_args", "qmp_error"]


def parse_args(model: type[M], args: dict[str, Any]) -> M:
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
    return all(m.optional for m in members_of(model))


def qmp_error(exc: CoreError) -> QMPError:
    return QMPError(exc.desc, exc.error_class.value)


T = TypeVar("T")


def core(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call into the machine core, mapping its errors to QMP errors."""
    try:
        return fn(*args, **kwargs)
    except CoreError as exc:
        raise qmp_error(exc) from None
