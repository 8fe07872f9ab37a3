"""``record``: memdevd's dataclass decorator, without the start-up cost.

``@record`` makes a class a real :mod:`dataclasses` dataclass (``fields()``,
``replace()`` and ``asdict()`` work, and type checkers read it as one
through ``dataclass_transform``), with the same ``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, ordering and frozen behaviour as
``@dataclass(frozen=..., order=...)``.

Why not ``@dataclass`` itself: on Python 3.11 it compiles each generated
method from source when the class is created, ~0.1 ms per method and four
to six methods per class.  memdevd creates about fifty such classes
before its greeting, so that compile was ~20 ms of a ~100 ms start.
Here nothing is compiled when the class is created:

- ``__repr__``, ``__eq__``, ``__hash__`` and the orderings are shared
  functions that read the class's field names (equality and order compare
  an ``operator.attrgetter`` tuple, as fast as the generated ones);
- ``__init__`` is generic for a class's first instance and compiled for
  its second (a class made once per process, as most configuration
  classes are, never pays the compile; one made by the hundred gets the
  same specialised ``__init__`` ``@dataclass`` would have written).

Every field is a positional ``__init__`` parameter: ``init=False``,
``kw_only`` and ``InitVar`` are not implemented (the first two raise
TypeError when the class is made; use ``@dataclass`` for such a class).
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")

_MISSING = dataclasses.MISSING


class _Spec:
    """What the shared methods need to know of one record class."""

    __slots__ = ("compare", "frozen", "hash", "init", "names", "post_init", "repr")

    def __init__(self, cls: type, frozen: bool) -> None:
        fields = dataclasses.fields(cls)
        _check_fields(cls, fields)
        # (name, default, default_factory) of the __init__ parameters.
        self.init = tuple((f.name, f.default, f.default_factory) for f in fields)
        self.names = frozenset(f.name for f in fields)
        self.frozen = frozen
        # As @dataclass: decided when the class is made, not per instance.
        self.post_init = hasattr(cls, "__post_init__")
        self.compare = _getter([f.name for f in fields if f.compare])
        self.hash = _getter([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
        self.repr = tuple(f.name for f in fields if f.repr)


def _check_fields(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> None:
    """Refuse what records do not implement, and what @dataclass refuses,
    when the class is made rather than at its second instance."""
    seen_default = None
    for f in fields:
        if not f.init or f.kw_only:
            raise TypeError(
                f"{cls.__qualname__}.{f.name}: record fields are positional __init__"
                " parameters (no init=False or kw_only; use @dataclass)"
            )
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            seen_default = f.name
        elif seen_default is not None:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return operator.attrgetter(*names)


def _spec(obj: Any) -> _Spec:
    spec: _Spec = type(obj).__record__
    return spec


# -- __init__ ------------------------------------------------------------------


def _generic_init(
    cls: type, spec: _Spec, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    params = spec.init
    if len(args) > len(params):
        raise TypeError(
            f"{cls.__qualname__}.__init__() takes {len(params) + 1} positional arguments"
            f" but {len(args) + 1} were given"
        )
    values = dict(zip((p[0] for p in params), args, strict=False))
    for name in kwargs:
        if name in values:
            raise TypeError(
                f"{cls.__qualname__}.__init__() got multiple values for argument '{name}'"
            )
    values.update(kwargs)
    # As the generated __init__: frozen fields are set past __setattr__.
    setattr_ = object.__setattr__ if spec.frozen else setattr
    for name, default, factory in params:
        if name in values:
            value = values.pop(name)
        elif default is not _MISSING:
            value = default
        elif factory is not _MISSING:
            value = factory()
        else:
            raise TypeError(
                f"{cls.__qualname__}.__init__() missing 1 required positional argument: '{name}'"
            )
        setattr_(obj, name, value)
    if values:
        unexpected = next(iter(values))
        raise TypeError(
            f"{cls.__qualname__}.__init__() got an unexpected keyword argument '{unexpected}'"
        )
    if spec.post_init:
        obj.__post_init__()


def _compiled_init(cls: type, spec: _Spec) -> Callable[..., None]:
    """The ``__init__`` ``@dataclass`` would have generated for ``cls``."""
    names = {"__record_missing__": _MISSING, "__record_setattr__": object.__setattr__}
    params, body = [], []
    for name, default, factory in spec.init:
        if default is not _MISSING:
            names[f"__record_default_{name}__"] = default
            params.append(f"{name}=__record_default_{name}__")
            value = name
        elif factory is not _MISSING:
            names[f"__record_factory_{name}__"] = factory
            params.append(f"{name}=__record_missing__")
            value = f"__record_factory_{name}__() if {name} is __record_missing__ else {name}"
        else:
            params.append(name)
            value = name
        if spec.frozen:
            body.append(f"  __record_setattr__(self, {name!r}, {value})")
        else:
            body.append(f"  self.{name} = {value}")
    if spec.post_init:
        body.append("  self.__post_init__()")
    source = (
        f"def __create__({', '.join(names)}):\n"
        f" def __init__(self, {', '.join(params)}):\n"
        + "\n".join(f" {line}" for line in body or ["  pass"])
        + "\n return __init__\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, {}, namespace)
    init: Callable[..., None] = namespace["__create__"](**names)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


# Classes made once through the generic __init__, not compiled yet (the
# next instance compiles).
_USED_ONCE: dict[type, None] = {}


def _compile(cls: type) -> Callable[..., None]:
    compiled = _compiled_init(cls, cls.__record__)  # type: ignore[attr-defined]
    type.__setattr__(cls, "__init__", compiled)
    _USED_ONCE.pop(cls, None)
    return compiled


def compile_used() -> None:
    """Compile now the ``__init__`` of every record class made once so far.

    For idle time: a class made once at start-up is often made again by
    the first command (a device's regions, a timer), which would otherwise
    pay the compile.
    """
    for cls in list(_USED_ONCE):
        _compile(cls)


def _make_init(cls: type) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if cls in _USED_ONCE:
            _compile(cls)(self, *args, **kwargs)
            return
        _USED_ONCE[cls] = None
        _generic_init(cls, cls.__record__, self, args, kwargs)  # type: ignore[attr-defined]

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


# -- the other methods ---------------------------------------------------------------


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _spec(self).repr)
    return f"{type(self).__qualname__}({fields})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    compare = _spec(self).compare
    return compare(self) == compare(other)


def _hash(self: Any) -> int:
    return hash(_spec(self).hash(self))


def _order(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        compare = _spec(self).compare
        return op(compare(self), compare(other))

    return method


_ORDER = {
    "__lt__": _order(operator.lt),
    "__le__": _order(operator.le),
    "__gt__": _order(operator.gt),
    "__ge__": _order(operator.ge),
}


# As @dataclass(frozen=True): a record's own instances and its fields are
# frozen; a plain subclass may add attributes of its own.
def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    if "__record__" in type(self).__dict__ or name in _spec(self).names:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    if "__record__" in type(self).__dict__ or name in _spec(self).names:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


# -- the decorator -------------------------------------------------------------------


def _frozen_setstate(self: Any, state: tuple[Any, ...]) -> None:
    # Unpickling and copy.deepcopy of a frozen slotted record: past __setattr__.
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)


def _slots_getstate(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in dataclasses.fields(self))


def _process(cls: type[_T], frozen: bool, order: bool, slots: bool) -> type[_T]:
    own = cls.__dict__
    if not own.get("__doc__"):
        # dataclasses would otherwise write one from inspect.signature(),
        # which costs more than the rest of the class.
        cls.__doc__ = f"{cls.__qualname__} record."
    for base in cls.__mro__[1:]:
        inherited = base.__dict__.get("__record__")
        if inherited is not None and inherited.frozen != frozen:
            # As dataclasses: a frozen class's subclass would break its promise.
            raise TypeError("cannot inherit a frozen record from a non-frozen one, or the reverse")
    # With slots=True, dataclasses returns a new class (no compile either).
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots)
    own = cls.__dict__
    cls.__record__ = _Spec(cls, frozen)  # type: ignore[attr-defined]
    methods: dict[str, Any] = {"__init__": _make_init(cls), "__repr__": _repr, "__eq__": _eq}
    if order:
        methods.update(_ORDER)
    if frozen:
        methods.update(__setattr__=_frozen_setattr, __delattr__=_frozen_delattr)
        if slots:
            methods.update(__getstate__=_slots_getstate, __setstate__=_frozen_setstate)
    for name, method in methods.items():
        if name in own:
            if name in _ORDER or name in ("__setattr__", "__delattr__"):
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
            continue
        setattr(cls, name, method)
    if "__hash__" not in own or own["__hash__"] is None:
        # As @dataclass(eq=True): hashable by value when frozen, else not.
        cls.__hash__ = _hash if frozen else None  # type: ignore[assignment]
    return cls


def replace(obj: _T, /, **changes: Any) -> _T:
    """``dataclasses.replace`` for a record, through the generic ``__init__``.

    For a class made a handful of times, each from the previous one (the
    release table's rows): ``dataclasses.replace`` would call ``__init__``
    and compile it on the second instance, ~2 ms for a class of 150 fields
    at every start."""
    cls = type(obj)
    spec: _Spec = cls.__record__  # type: ignore[attr-defined]
    values = {name: getattr(obj, name) for name, _, _ in spec.init}
    values.update(changes)
    new: _T = object.__new__(cls)
    _generic_init(cls, spec, new, (), values)
    return new


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(
    *, frozen: bool = False, order: bool = False, slots: bool = False
) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(
    cls: type[_T] | None = None,
    /,
    *,
    frozen: bool = False,
    order: bool = False,
    slots: bool = False,
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """``@dataclass`` with the same ``frozen``, ``order`` and ``slots`` options."""

    def wrap(cls: type[_T]) -> type[_T]:
        return _process(cls, frozen, order, slots)

    return wrap if cls is None else wrap(cls)
