"""QAPI types on pydantic models, and QEMU-exact validation of arguments.

A QAPI struct is a pydantic model whose fields are declared in QAPI member
order, with ``alias`` carrying dashed names (``requested-size``).  The QAPI
scalar type of an ``int`` field is given by an ``Annotated`` marker
(:data:`Int`, :data:`UInt32`, :data:`Size`, ...), enums are ``Literal``
types, optional members default to ``None``.

:func:`visit_model` validates a JSON object against such a model the way
QEMU's generated ``visit_type_*`` functions drive the QObject input
visitor: members in declaration order (missing, wrong type), then the
first unexpected member.  Error texts are QEMU's, never pydantic's; the
model is then built with ``model_construct`` (already validated).
"""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from memdevd.qapi.object_options import Spec, visit_spec
from memdevd.qapi.visitor import InputVisitor, VisitError
from memdevd.records import record


@record(frozen=True)
class QType:
    """Marks the QAPI builtin type of a field: int, uint32, size, any..."""

    name: str


Int = Annotated[int, QType("int")]
Int8 = Annotated[int, QType("int8")]
Int16 = Annotated[int, QType("int16")]
Int32 = Annotated[int, QType("int32")]
Int64 = Annotated[int, QType("int64")]
UInt8 = Annotated[int, QType("uint8")]
UInt16 = Annotated[int, QType("uint16")]
UInt32 = Annotated[int, QType("uint32")]
UInt64 = Annotated[int, QType("uint64")]
Size = Annotated[int, QType("size")]
AnyValue = Annotated[Any, QType("any")]


class QAPIModel(BaseModel):
    """Base of every QAPI struct: dashed names through aliases."""

    # defer_build: memdevd validates with its own QEMU-exact visitor and never
    # with pydantic, so the validators are built only if ever asked for
    # (JSON Schema export): each costs ~2 ms of start-up.
    model_config = ConfigDict(populate_by_name=True, frozen=False, extra="forbid", defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        """The QObject output visitor's view: members in order, absent if None."""
        out: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None and not info.is_required():
                continue
            out[info.alias or name] = _wire(value)
        return out


def _wire(value: Any) -> Any:
    if isinstance(value, QAPIModel):
        return value.to_wire()
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


# --- type descriptions -------------------------------------------------------------


@record(frozen=True)
class Member:
    name: str  # wire name
    attr: str  # Python attribute
    qtype: Any
    optional: bool


@cache
def members_of(model: type[QAPIModel]) -> tuple[Member, ...]:
    hints = typing.get_type_hints(model, include_extras=True)
    out = []
    for attr, info in model.model_fields.items():
        hint = hints[attr]
        optional = not info.is_required()
        out.append(Member(info.alias or attr, attr, _strip_optional(hint), optional))
    return tuple(out)


def _strip_optional(hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


_BUILTINS: dict[Any, str] = {str: "str", bool: "bool", int: "int", float: "number", Any: "any"}


@cache
def member_spec(hint: Any) -> Spec:
    """An annotation as a member spec (:mod:`memdevd.qapi.object_options`):
    a QAPI builtin name, ``("enum", values)`` or ``("list", spec)``."""
    origin = get_origin(hint)
    if origin is Annotated:
        base, *metas = get_args(hint)
        for meta in metas:
            if isinstance(meta, QType):
                return meta.name
        return member_spec(base)
    if origin is Literal:
        return ("enum", tuple(str(a) for a in get_args(hint)))
    if origin is list:
        (elem,) = get_args(hint)
        return ("list", member_spec(elem))
    if hint in _BUILTINS:
        return _BUILTINS[hint]
    raise TypeError(f"no member spec for {hint!r}")


def qapi_type_name(hint: Any) -> str:
    """The QAPI builtin name for an annotation (for introspection)."""
    if hint is type(None):
        return "null"
    spec = member_spec(hint)
    if not isinstance(spec, str):
        raise TypeError(f"no QAPI builtin for {hint!r}")
    return spec


M = TypeVar("M", bound=QAPIModel)


def visit_value(v: InputVisitor, name: str | None, hint: Any) -> Any:
    """Visit one value of the given annotation (``visit_type_<T>``)."""
    if get_origin(hint) is list:
        (elem,) = get_args(hint)
        v.start_list(name)
        out = []
        while v.has_next():
            out.append(visit_value(v, None, elem))
        v.end_list()
        return out
    if isinstance(hint, type) and issubclass(hint, QAPIModel):
        v.start_struct(name)
        values = visit_members(v, hint)
        v.check_struct()
        v.end_struct()
        return hint.model_construct(**values)
    return visit_spec(v, name, member_spec(hint))


def visit_members(v: InputVisitor, model: type[QAPIModel]) -> dict[str, Any]:
    """``visit_type_<T>_members``: every member in declaration order."""
    values: dict[str, Any] = {}
    for m in members_of(model):
        if m.optional and not v.optional(m.name):
            continue
        values[m.attr] = visit_value(v, m.name, m.qtype)
    return values


def visit_model(model: type[M], args: dict[str, Any], *, keyval: bool = False) -> M:
    """Validate ``args`` (the command's ``arguments``) against ``model``.

    Raises :class:`~memdevd.qapi.visitor.VisitError` with QEMU's text.
    """
    from memdevd.qapi.qdict import qdict_key_order

    v = InputVisitor(args, keyval=keyval, key_order=qdict_key_order)
    v.start_struct(None)
    values = visit_members(v, model)
    v.check_struct()
    v.end_struct()
    return model.model_construct(**values)


__all__ = [
    "AnyValue",
    "Int",
    "Int32",
    "QAPIModel",
    "QType",
    "Size",
    "UInt16",
    "UInt32",
    "UInt64",
    "VisitError",
    "visit_model",
]
