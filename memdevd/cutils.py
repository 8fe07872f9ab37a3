"""QEMU's number parsing from util/cutils.c, with C library semantics.

``qemu_strtoi64``, ``qemu_strtou64``, ``qemu_strtod_finite`` and
``qemu_strtosz`` decide which strings QEMU accepts for integer, number and
size values everywhere (QemuOpts, keyval, -m).  Each function here takes
the whole string and returns ``None`` where QEMU returns an error, exactly
as the ``endptr == NULL`` form of the C functions does (trailing garbage is
an error).  The ``*_prefix`` forms return how much was consumed.
"""

from __future__ import annotations

import math
import re

UINT64_MAX = (1 << 64) - 1
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

_WS = " \t\n\v\f\r"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _strtoull_prefix(s: str, base: int) -> tuple[int, int, bool]:
    """C ``strtoull``/``strtoll`` core: (magnitude with sign, end, overflow).

    Returns the signed mathematical value (negation applied), the index
    where parsing stopped (0 if nothing was converted) and whether the
    magnitude exceeded 64 bits.
    """
    i = 0
    n = len(s)
    while i < n and s[i] in _WS:
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    if (base in (0, 16)) and i + 1 < n and s[i] == "0" and s[i + 1] in "xX":
        # "0x" only counts as a prefix when a hex digit follows.
        if i + 2 < n and s[i + 2].lower() in _DIGITS[:16]:
            i += 2
            base = 16
        elif base == 0:
            base = 8
    elif base == 0:
        base = 8 if i < n and s[i] == "0" else 10
    start = i
    value = 0
    while i < n:
        d = _DIGITS.find(s[i].lower())
        if d < 0 or d >= base:
            break
        value = value * base + d
        i += 1
    if i == start:
        # No digits: "0x" alone parses as "0" with end after the '0'.
        j = 0
        while j < n and s[j] in _WS:
            j += 1
        if j < n and s[j] in "+-":
            j += 1
        if j < n and s[j] == "0":
            return 0, j + 1, False
        return 0, 0, False
    overflow = value > UINT64_MAX
    return (-value if neg else value), i, overflow


def strtou64_prefix(s: str, base: int = 0) -> tuple[int | None, int]:
    """``qemu_strtou64`` with an end pointer: (value or None on ERANGE, end)."""
    value, end, overflow = _strtoull_prefix(s, base)
    if end == 0:
        return None, 0
    if overflow:
        return None, end
    # strtoull negates in unsigned arithmetic: "-1" is 2^64 - 1.
    return value & UINT64_MAX, end


def strtou64(s: str, base: int = 0) -> int | None:
    value, end = strtou64_prefix(s, base)
    if value is None or end != len(s):
        return None
    return value


def strtoi64(s: str, base: int = 0) -> int | None:
    value, end, overflow = _strtoull_prefix(s, base)
    if end == 0 or end != len(s) or overflow:
        return None
    if value < INT64_MIN or value > INT64_MAX:
        return None
    return value


_FLOAT_RE = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:"
    r"(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)",
    re.IGNORECASE,
)


def strtod_prefix(s: str) -> tuple[float | None, int]:
    """C ``strtod``: (value, end); value None when nothing was converted."""
    m = _FLOAT_RE.match(s)
    if not m:
        return None, 0
    text = m.group(0).strip(_WS)
    try:
        if text.lower().lstrip("+-").startswith("0x"):
            sign = -1.0 if text.startswith("-") else 1.0
            body = text.lstrip("+-")
            if "p" not in body.lower():
                body += "p0"
            return sign * float.fromhex(body), m.end()
        if text.lower().lstrip("+-").startswith("nan"):
            return math.nan, m.end()
        return float(text), m.end()
    except (ValueError, OverflowError):
        return None, 0


def strtod_finite(s: str) -> float | None:
    value, end = strtod_prefix(s)
    if value is None or end != len(s) or not math.isfinite(value):
        return None
    return value


def _suffix_mul(c: str, unit: int) -> int:
    powers = {"B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
    p = powers.get(c.upper())
    return -1 if p is None else unit**p


def strtosz_prefix(
    s: str, default_suffix: str = "B", unit: int = 1024
) -> tuple[int | None, int, bool]:
    """``do_strtosz``: (value or None, end, out_of_range)."""
    val, end = strtou64_prefix(s, 10)
    if val is None:
        return None, end, end > 0
    if "-" in s[:end]:
        return None, 0, False
    valf = 0
    hex_ = False
    if val == 0 and end < len(s) and s[end] in "xX":
        val, end = strtou64_prefix(s, 16)
        if val is None:
            return None, end, end > 0
        if end < len(s) and s[end] == ".":
            return None, 0, False
        hex_ = True
    elif end < len(s) and s[end] == ".":
        fraction, fend = strtod_prefix(s[end:])
        if fraction is None or not math.isfinite(fraction):
            end += 1
        elif "e" in s[end : end + fend].lower():
            return None, 0, False
        else:
            end += fend
            valf = int(fraction * 2.0**64)
    mul = _suffix_mul(s[end], unit) if end < len(s) else -1
    if mul > 0:
        end += 1
    else:
        mul = _suffix_mul(default_suffix, unit)
    del hex_  # QEMU only warns about a suffix on hex numbers
    if mul == 1:
        if valf != 0:
            return None, 0, False
        return val, end, False
    total = val * mul + ((valf * mul) >> 64) + (((valf * mul) >> 63) & 1)
    if total > UINT64_MAX:
        return None, end, True
    return total, end, False


def strtosz(s: str, default_suffix: str = "B") -> int | None:
    value, end, _ = strtosz_prefix(s, default_suffix)
    if value is None or end != len(s):
        return None
    return value
