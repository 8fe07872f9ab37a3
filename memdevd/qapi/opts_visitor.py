"""QEMU's opts visitor (``qapi/opts-visitor.c``): a QAPI type from QemuOpts.

``-netdev``, ``-net`` and ``-nic`` in their traditional syntax are visited
with it (``net_client_init``).  It differs from the QObject input visitor
in ways a user sees:

* it is flat: members of nested structs and union branches are looked up
  among the same options, by their bare name, and errors name the option
  (``Parameter 'queues' expects a uint64 value``);
* a repeated option is a list (``hostfwd=a,hostfwd=b``), each occurrence
  one element; a scalar read outside a list takes the last occurrence;
* integers in a list may be ranges (``1-3``), which expand;
* an option nothing visited is ``Invalid parameter 'X'``, the first
  in GLib's hash order (memdevd: the first given).

The visitor offers the interface :mod:`memdevd.qapi.source_schema` drives,
so ``visit(schema, OptsVisitor(items, opts_id), None, "Netdev")`` is QEMU's
``visit_type_Netdev(opts_visitor_new(opts), ...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from memdevd import messages as M
from memdevd.qapi.visitor import (
    INT64_MAX,
    INT64_MIN,
    InputVisitor,
    VisitError,
    parse_bool_text,
)
from memdevd.util.cutils import _qemu_parse_uint, strtoll, strtosz

#: OPTS_VISITOR_RANGE_MAX: the longest range a list element may expand to.
RANGE_MAX: Final = 65536


class OptsVisitor(InputVisitor):
    """Visit ``items`` (QemuOpts' ``(name, value)`` pairs in order) and the
    group's id as QEMU's opts visitor does (every method of the input
    visitor's interface is its own)."""

    def __init__(
        self,
        items: Sequence[tuple[str, str]],
        opts_id: str | None = None,
        *,
        legacy_sizes: bool = False,
    ) -> None:
        # Not the input visitor's state: only its interface is shared.
        self.keyval = True
        self.opts = True
        self.legacy_sizes = legacy_sizes
        # name -> the occurrences not yet consumed (unprocessed_opts)
        self._unprocessed: dict[str, list[str]] = {}
        for name, value in items:
            self._unprocessed.setdefault(name, []).append(value)
        if opts_id is not None:
            # The id as a fake option, for uniformity (fake_id_opt).
            self._unprocessed.setdefault("id", []).append(opts_id)
        self._depth = 0
        # The repeated option a list walks, and how far it got.
        self._list: list[str] | None = None
        self._list_name = ""
        self._list_done = False
        self._range: list[int] = []

    # -- structs ----------------------------------------------------------------

    def start_struct(self, name: str | None) -> None:
        self._depth += 1

    def check_struct(self) -> None:
        if self._depth > 1:
            return
        for name in self._unprocessed:
            raise VisitError(M.INVALID_PARAMETER.format(name))

    def end_struct(self) -> None:
        self._depth -= 1

    def optional(self, name: str) -> bool:
        return name in self._unprocessed

    def present(self, name: str) -> bool:
        return self.optional(name)

    def peek_qtype(self, name: str | None) -> str:
        return "QTYPE_QSTRING"

    # -- lists ------------------------------------------------------------------

    def start_list(self, name: str | None) -> None:
        key = name or ""
        if key not in self._unprocessed:
            raise VisitError(M.MISSING_PARAMETER.format(key))
        self._list = self._unprocessed[key]
        self._list_name = key
        self._list_done = False
        self._range = []

    def has_next(self) -> bool:
        return not self._list_done and bool(self._list)

    def _next_element(self) -> None:
        """``opts_next_list``: after an element, move to the next one."""
        if self._range:
            self._range.pop(0)
            if self._range:
                return
        assert self._list is not None
        self._list.pop(0)
        if not self._list:
            del self._unprocessed[self._list_name]
            self._list_done = True

    def end_list(self) -> None:
        self._list = None
        self._range = []

    # -- scalars ----------------------------------------------------------------

    def _scalar(self, name: str | None) -> tuple[str, str]:
        """``lookup_scalar``: (option name, value)."""
        if self._list is None:
            key = name or ""
            values = self._unprocessed.get(key)
            if values is None:
                raise VisitError(M.MISSING_PARAMETER.format(key))
            return key, values[-1]
        if self._list_done:
            raise VisitError(M.OPTS_FEWER_LIST_ELEMENTS)
        return self._list_name, self._list[0]

    def _processed(self, key: str) -> None:
        if self._list is None:
            self._unprocessed.pop(key, None)
        else:
            self._next_element()

    def type_str(self, name: str | None) -> str:
        key, value = self._scalar(name)
        self._processed(key)
        return value

    def type_enum(self, name: str | None, values: Sequence[str]) -> str:
        text = self.type_str(name)
        if text not in values:
            raise VisitError(M.ENUM_BAD_VALUE.format(name if name is not None else "null", text))
        return text

    def type_bool(self, name: str | None) -> bool:
        key, value = self._scalar(name)
        parsed = parse_bool_text(value)
        if parsed is None:
            raise VisitError(M.INVALID_PARAMETER_VALUE.format(key, "'on' or 'off'"))
        self._processed(key)
        return parsed

    def type_int64(self, name: str | None) -> int:
        if self._range:
            value = self._range[0]
            self._next_element()
            return value
        key, text = self._scalar(name)
        in_list = self._list is not None
        value, end, errno = strtoll(text, 0)
        if errno == 0 and end > 0 and INT64_MIN <= value <= INT64_MAX:
            if end == len(text):
                self._processed(key)
                return value
            if text[end] == "-" and in_list:
                rest = text[end + 1 :]
                value2, end2, errno2 = strtoll(rest, 0)
                if (
                    errno2 == 0
                    and end2 > 0
                    and end2 == len(rest)
                    and value <= value2
                    and (value > INT64_MAX - RANGE_MAX or value2 < value + RANGE_MAX)
                ):
                    self._range = list(range(value, value2 + 1))
                    return self.type_int64(name)
        what = "an int64 value or range" if in_list else "an int64 value"
        raise VisitError(M.INVALID_PARAMETER_VALUE.format(key, what))

    def type_uint64(self, name: str | None) -> int:
        if self._range:
            value = self._range[0]
            self._next_element()
            return value
        key, text = self._scalar(name)
        in_list = self._list is not None
        err, value, end = _qemu_parse_uint(text, 0)
        if err == 0:
            if end == len(text):
                self._processed(key)
                return value
            if text[end] == "-" and in_list:
                err2, value2, end2 = _qemu_parse_uint(text[end + 1 :], 0)
                if (
                    err2 == 0
                    and end2 == len(text) - end - 1
                    and value <= value2
                    and value2 - value < RANGE_MAX
                ):
                    self._range = list(range(value, value2 + 1))
                    return self.type_uint64(name)
        what = "a uint64 value or range" if in_list else "a uint64 value"
        raise VisitError(M.INVALID_PARAMETER_VALUE.format(key, what))

    def type_size(self, name: str | None) -> int:
        key, text = self._scalar(name)
        size = strtosz(text, legacy=self.legacy_sizes)
        if size is None:
            raise VisitError(M.INVALID_PARAMETER_VALUE.format(key, "a size value"))
        self._processed(key)
        return size

    def type_number(self, name: str | None) -> float:
        # opts-visitor.c has no type_number: QEMU would crash; no option of
        # the types it visits is a number.
        raise VisitError(M.INVALID_PARAMETER_TYPE.format(name or "null", "number"))

    def type_any(self, name: str | None) -> Any:
        return self.type_str(name)

    def type_null(self, name: str | None) -> None:
        raise VisitError(M.INVALID_PARAMETER_TYPE.format(name or "null", "null"))


__all__ = ["OptsVisitor"]
