"""Whole-string number parsing for QAPI visitors, on top of qemu_opts.

The QObject input visitor's keyval flavour and the opts visitor parse
integers, numbers and sizes from strings with ``qemu_strtoi64``,
``qemu_strtou64``, ``qemu_strtod_finite`` and ``qemu_strtosz``
(util/cutils.c).  Those ports live in :mod:`memdevd.util.qemu_opts`; this module
adapts them to "value or None", as the ``endptr == NULL`` forms of the C
functions behave.  ``legacy`` selects QEMU 7.2's ``qemu_strtosz``, which 8.1
rewrote (negative values, hex with suffixes, ``.5G``).
"""

from __future__ import annotations

from memdevd.util import qemu_opts as _q


def strtou64(s: str, base: int = 0) -> int | None:
    err, value, _ = _q.qemu_strtou64(s, base, want_end=False)
    return None if err else value


def strtoi64(s: str, base: int = 0) -> int | None:
    err, value, _ = _q.qemu_strtoi64(s, base, want_end=False)
    return None if err else value


def strtod_finite(s: str, legacy: bool = False) -> float | None:
    parse = _q._qemu_strtod_finite_72 if legacy else _q._qemu_strtod_finite_2023
    err, value, end = parse(s)
    if err or end != len(s):
        return None
    return value


def strtosz(s: str, default_suffix: str = "B", legacy: bool = False) -> int | None:
    err, value = _q.qemu_strtosz_of(s, not legacy, default_suffix=default_suffix)
    return None if err else value
