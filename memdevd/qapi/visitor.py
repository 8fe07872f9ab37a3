"""QEMU's QObject input visitor, in Python.

QEMU validates every QMP argument and every QOM property value by *visiting*
the input with ``qapi/qobject-input-visitor.c``; the order in which members
are visited and the texts of its errors are what a client sees.  This module
mirrors that visitor: a stack of containers, ``full_name()`` for error
messages, the strict JSON flavour (``keyval=False``: numbers must be JSON
numbers) and the keyval flavour (``keyval=True``: every scalar is a string,
as produced by QemuOpts and ``-object``/``-device`` option strings).

Range checks for the sized integer types live in ``qapi-visit-core.c`` and
use the bare member name, not the full name; that quirk is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from typing import Any, Final

from memdevd import messages as M
from memdevd.records import record
from memdevd.util.cutils import ERANGE, qemu_strtosz_of, strtod_finite, strtoi64, strtosz, strtou64

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
UINT64_MAX: Final = (1 << 64) - 1

# name -> (min, max, type text used by visit_type_intN / visit_type_uintN)
INT_RANGES: Final[dict[str, tuple[int, int, str]]] = {
    "int8": (-(1 << 7), (1 << 7) - 1, "int8_t"),
    "int16": (-(1 << 15), (1 << 15) - 1, "int16_t"),
    "int32": (-(1 << 31), (1 << 31) - 1, "int32_t"),
    "uint8": (0, (1 << 8) - 1, "uint8_t"),
    "uint16": (0, (1 << 16) - 1, "uint16_t"),
    "uint32": (0, (1 << 32) - 1, "uint32_t"),
}


class VisitError(Exception):
    """A visitor error: QEMU reports these as GenericError with this text."""

    def __init__(self, desc: str, hint: str = "") -> None:
        super().__init__(desc)
        self.desc = desc
        #: what QEMU appends with error_append_hint() (printed on the command line)
        self.hint = hint


@record
class _Frame:
    name: str | None
    obj: Any
    # dict frames: keys not yet consumed, in the order QEMU would find them
    unvisited: dict[str, None] = field(default_factory=dict)
    # list frames
    index: int = -1
    pos: int = 0


_NOTHING: Final = object()


def _identity_order(keys: Iterable[str]) -> list[str]:
    return list(keys)


class InputVisitor:
    """Visit a parsed JSON value the way ``qobject_input_visitor_new`` does."""

    def __init__(
        self,
        root: Any,
        *,
        keyval: bool = False,
        opts: bool = False,
        legacy_sizes: bool = False,
        string: bool = False,
        key_order: Callable[[Iterable[str]], Sequence[str]] = _identity_order,
    ) -> None:
        self.root = root
        # QEMU 7.2's qemu_strtosz (rewritten in 8.1) for string sizes.
        self.legacy_sizes = legacy_sizes
        # opts: qapi/opts-visitor.c (non-JSON -object, -numa): string values
        # like keyval, but its own error texts.
        self.opts = opts
        self.keyval = keyval or opts or string
        # string: qapi/string-input-visitor.c (object_property_parse: -global
        # values): keyval-like strings, its own integer texts.
        self.string = string
        self._stack: list[_Frame] = []
        self._key_order = key_order

    # -- naming -------------------------------------------------------------

    def full_name(self, name: str | None, n: int = 0) -> str:
        """``full_name_nth()``: the dotted/indexed path of what is visited."""
        parts: list[str] = []
        for frame in reversed(self._stack):
            if n:
                n -= 1
            elif isinstance(frame.obj, dict):
                parts.insert(0, "." + (name if name is not None else "<anonymous>"))
            else:
                parts.insert(0, f".{frame.index}" if self.keyval else f"[{frame.index}]")
            name = frame.name
        text = "".join(parts)
        if name is not None:
            return name + text
        if text.startswith("."):
            return text[1:]
        if not text:
            return "<anonymous>"
        return text

    # -- element access -----------------------------------------------------

    def _try_get(self, name: str | None, consume: bool) -> Any:
        if not self._stack:
            return self.root
        tos = self._stack[-1]
        if isinstance(tos.obj, dict):
            assert name is not None
            value = tos.obj.get(name, _NOTHING)
            if consume and value is not _NOTHING:
                tos.unvisited.pop(name, None)
            return value
        seq: list[Any] = tos.obj
        if tos.pos < len(seq):
            value = seq[tos.pos]
            if consume:
                tos.pos += 1
        else:
            value = _NOTHING
        if consume:
            tos.index += 1
        return value

    def _get(self, name: str | None, consume: bool = True) -> Any:
        value = self._try_get(name, consume)
        if value is _NOTHING:
            raise VisitError(M.MISSING_PARAMETER.format(self.full_name(name)))
        return value

    def _get_keyval(self, name: str | None) -> str:
        value = self._get(name)
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            raise VisitError(M.UNEXPECTED_PARAMETERS.format(self.full_name(name)))
        raise VisitError(M.KEYVAL_PARAMETER_INTERNAL.format(self.full_name(name)))

    def peek_qtype(self, name: str | None) -> str:
        """``visit_start_alternate``: the QType of the value, not consumed."""
        value = self._try_get(name, consume=False)
        if value is _NOTHING:
            raise VisitError(M.MISSING_PARAMETER.format(self.full_name(name)))
        if isinstance(value, dict):
            return "QTYPE_QDICT"
        if isinstance(value, list):
            return "QTYPE_QLIST"
        if isinstance(value, str):
            return "QTYPE_QSTRING"
        if isinstance(value, bool):
            return "QTYPE_QBOOL"
        if value is None:
            return "QTYPE_QNULL"
        return "QTYPE_QNUM"

    def optional(self, name: str) -> bool:
        return self._try_get(name, consume=False) is not _NOTHING

    def present(self, name: str) -> bool:
        return self.optional(name)

    # -- containers ---------------------------------------------------------

    def start_struct(self, name: str | None) -> None:
        value = self._get(name)
        if not isinstance(value, dict):
            raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "object"))
        frame = _Frame(name, value)
        frame.unvisited = dict.fromkeys(self._key_order(value.keys()))
        self._stack.append(frame)

    def check_struct(self) -> None:
        tos = self._stack[-1]
        for key in tos.unvisited:
            if self.opts:
                raise VisitError(M.INVALID_PARAMETER.format(key))
            raise VisitError(M.UNEXPECTED_PARAMETER.format(self.full_name(key)))

    def end_struct(self) -> None:
        self._stack.pop()

    def start_list(self, name: str | None) -> None:
        value = self._get(name)
        if self.opts and isinstance(value, str):
            # The opts visitor reads repeated keys and "N-M" ranges as a list.
            value = _opts_list(value)
        if not isinstance(value, list):
            raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "array"))
        self._stack.append(_Frame(name, value))

    def has_next(self) -> bool:
        tos = self._stack[-1]
        seq: list[Any] = tos.obj
        return tos.pos < len(seq)

    def end_list(self) -> None:
        self._stack.pop()

    def unvisited(self) -> list[str]:
        return list(self._stack[-1].unvisited)

    # -- scalars ------------------------------------------------------------

    def type_int64(self, name: str | None) -> int:
        if self.keyval:
            text = self._get_keyval(name)
            value = strtoi64(text)
            if value is None:
                what = "an int64 value" if self.opts else "int64" if self.string else "integer"
                raise VisitError(M.INVALID_PARAMETER_VALUE.format(self.full_name(name), what))
            return value
        value = self._get(name)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and INT64_MIN <= value <= INT64_MAX
        ):
            return value
        raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "integer"))

    def type_uint64(self, name: str | None) -> int:
        if self.keyval:
            text = self._get_keyval(name)
            uvalue = strtou64(text)
            if uvalue is None:
                what = "a uint64 value" if self.opts else "uint64" if self.string else "integer"
                raise VisitError(M.INVALID_PARAMETER_VALUE.format(self.full_name(name), what))
            return uvalue
        value = self._get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value <= UINT64_MAX:
                return value
            # QEMU accepts negative int64 for backward compatibility (wraps).
            if INT64_MIN <= value < 0:
                return value & UINT64_MAX
        raise VisitError(M.INVALID_PARAMETER_VALUE.format(self.full_name(name), "uint64"))

    def type_size(self, name: str | None) -> int:
        if self.keyval:
            text = self._get_keyval(name)
            if self.string:
                return _parse_option_size(self.full_name(name), text, self.legacy_sizes)
            size = strtosz(text, legacy=self.legacy_sizes)
            if size is None:
                what = "a size value" if self.opts else "size"
                raise VisitError(M.INVALID_PARAMETER_VALUE.format(self.full_name(name), what))
            return size
        return self.type_uint64(name)

    def type_int(self, name: str | None, qapi_type: str) -> int:
        """Any QAPI integer type by name: int, intN, uintN, size."""
        if qapi_type in ("int", "int64"):
            return self.type_int64(name)
        if qapi_type == "uint64":
            return self.type_uint64(name)
        if qapi_type == "size":
            return self.type_size(name)
        lo, hi, cname = INT_RANGES[qapi_type]
        value = self.type_uint64(name) if lo == 0 else self.type_int64(name)
        if value < lo or value > hi:
            raise VisitError(
                M.INVALID_PARAMETER_VALUE.format(name if name is not None else "null", cname)
            )
        return value

    def type_bool(self, name: str | None) -> bool:
        if self.keyval:
            text = self._get_keyval(name)
            parsed = parse_bool_text(text)
            if parsed is None:
                raise VisitError(
                    M.INVALID_PARAMETER_VALUE.format(self.full_name(name), "'on' or 'off'")
                )
            return parsed
        value = self._get(name)
        if isinstance(value, bool):
            return value
        raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "boolean"))

    def type_str(self, name: str | None) -> str:
        if self.keyval:
            return self._get_keyval(name)
        value = self._get(name)
        if isinstance(value, str):
            return value
        raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "string"))

    def type_number(self, name: str | None) -> float:
        if self.keyval:
            text = self._get_keyval(name)
            number = strtod_finite(text, legacy=self.legacy_sizes)
            if number is None:
                raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "number"))
            return number
        value = self._get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "number"))

    def type_any(self, name: str | None) -> Any:
        return self._get(name)

    def type_null(self, name: str | None) -> None:
        value = self._get(name)
        if value is not None:
            raise VisitError(M.INVALID_PARAMETER_TYPE.format(self.full_name(name), "null"))

    def type_enum(self, name: str | None, values: Sequence[str]) -> str:
        text = self.type_str(name)
        if text not in values:
            raise VisitError(M.ENUM_BAD_VALUE.format(name if name is not None else "null", text))
        return text


def _opts_list(text: str) -> list[str]:
    out: list[str] = []
    for part in text.split(":"):
        lo, sep, hi = part.partition("-")
        if sep and lo.isdigit() and hi.isdigit() and int(lo) <= int(hi):
            out.extend(str(i) for i in range(int(lo), int(hi) + 1))
        else:
            out.append(part)
    return out


def parse_bool_text(text: str) -> bool | None:
    """``qapi_bool_parse``: the spellings QEMU accepts for a boolean."""
    if text in ("on", "yes", "true", "y"):
        return True
    if text in ("off", "no", "false", "n"):
        return False
    return None


def _parse_option_size(name: str, text: str, legacy: bool) -> int:
    """``parse_option_size`` (the string input visitor's sizes: ``-global``)."""
    err, value = qemu_strtosz_of(text, not legacy)
    if err == -ERANGE:
        raise VisitError(M.VALUE_OUT_OF_RANGE.format(text, name))
    if err:
        raise VisitError(
            M.INVALID_PARAMETER_VALUE.format(name, "a non-negative number below 2^64"),
            M.SIZE_SUFFIX_HINT,
        )
    return value
