"""QEMU's number and identifier parsing: util/cutils.c and util/id.c.

Ports of the C library behaviour QEMU relies on (glibc ``strtoull``,
``strtoll``, ``strtod`` in the C locale), of ``qemu_strtou64``,
``qemu_strtoi64``, ``qemu_strtod_finite`` and ``qemu_strtosz`` (both the
7.2 code and 8.1's rewrite), and of ``id_wellformed``.  The wrappers at the
end give "value or None", as the ``endptr == NULL`` forms of the C
functions behave, for the QAPI visitors; ``legacy`` selects QEMU 7.2's
``qemu_strtosz``.  No machine knowledge and no error texts: the callers
word their errors (util/qemu_opts.py, qapi/visitor.py).
"""

from __future__ import annotations

import math
import re

from memdevd.util.option_defs import SyntaxRules, strtosz_2023

# ---------------------------------------------------------------------------
# C library behaviour QEMU relies on (glibc, C locale)

C_SPACE = " \t\n\v\f\r"
_U64_MAX = (1 << 64) - 1
_I64_MAX = (1 << 63) - 1
_I64_MIN = -(1 << 63)
EINVAL = 22
ERANGE = 34


def c_isalpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def c_isdigit(c: str) -> bool:
    return "0" <= c <= "9"


def c_isalnum(c: str) -> bool:
    return c_isalpha(c) or c_isdigit(c)


def char_at(s: str, i: int) -> str:
    """s[i], or NUL past the end, as C sees a NUL-terminated string."""
    return s[i] if 0 <= i < len(s) else "\0"


def _digit_value(c: str) -> int:
    if c_isdigit(c):
        return ord(c) - ord("0")
    if c_isalpha(c):
        return ord(c.upper()) - ord("A") + 10
    return 99


def _strtox(s: str, base: int) -> tuple[int, bool, int, int]:
    """glibc's strtoul core: (magnitude, negative, end index, 0 or ERANGE on u64 overflow).

    End index is 0 when nothing was converted, except for the "0x" special
    case where it points at the 'x'.
    """
    i = 0
    n = len(s)
    while i < n and s[i] in C_SPACE:
        i += 1
    negative = False
    if i < n and s[i] in "+-":
        negative = s[i] == "-"
        i += 1
    if char_at(s, i) == "0":
        if base in (0, 16) and char_at(s, i + 1) in "xX":
            i += 2
            base = 16
        elif base == 0:
            base = 8
    elif base == 0:
        base = 10
    start = i
    value = 0
    overflow = False
    while i < n:
        d = _digit_value(s[i])
        if d >= base:
            break
        value = value * base + d
        if value > _U64_MAX:
            overflow = True
        i += 1
    if i == start:
        # glibc: "0x" followed by no hex digit converts the "0", end at 'x'
        if start >= 2 and s[start - 1] in "xX" and s[start - 2] == "0":
            return 0, False, start - 1, 0
        return 0, False, 0, 0
    return value, negative, i, ERANGE if overflow else 0


def strtoull(s: str, base: int) -> tuple[int, int, int]:
    """glibc strtoull: (result, end index, errno)."""
    mag, neg, end, err = _strtox(s, base)
    if err:
        return _U64_MAX, end, ERANGE
    return ((-mag) & _U64_MAX if neg else mag), end, 0


def strtoll(s: str, base: int) -> tuple[int, int, int]:
    """glibc strtoll: (result, end index, errno)."""
    mag, neg, end, err = _strtox(s, base)
    if neg:
        if err or mag > -_I64_MIN:
            return _I64_MIN, end, ERANGE
        return -mag, end, 0
    if err or mag > _I64_MAX:
        return _I64_MAX, end, ERANGE
    return mag, end, 0


_DEC_FLOAT_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX_FLOAT_RE = re.compile(r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?")
_DBL_MIN = 2.2250738585072014e-308


def _strtod(s: str) -> tuple[float, int, int]:
    """glibc strtod in the C locale: (result, end index, errno)."""
    i = 0
    n = len(s)
    while i < n and s[i] in C_SPACE:
        i += 1
    sign = 1.0
    if i < n and s[i] in "+-":
        sign = -1.0 if s[i] == "-" else 1.0
        i += 1
    rest = s[i:]
    low = rest.lower()
    if low.startswith("inf"):
        length = 8 if low.startswith("infinity") else 3
        return sign * math.inf, i + length, 0
    if low.startswith("nan"):
        length = 3
        m = re.match(r"nan\(([0-9A-Za-z_]*)\)", low)
        if m:
            length = m.end()
        return math.copysign(math.nan, sign), i + length, 0
    m = _HEX_FLOAT_RE.match(rest)
    if m:
        value = float.fromhex(m.group())
        end = i + m.end()
        mantissa_nonzero = re.search(r"[1-9a-fA-F]", m.group()[2:].split("p")[0].split("P")[0])
    else:
        m = _DEC_FLOAT_RE.match(rest)  # also takes the "0" of a digitless "0x"
        if not m:
            return 0.0, 0, 0
        text = m.group()
        try:
            value = float(text)
        except OverflowError:  # pragma: no cover - float() returns inf instead
            value = math.inf
        end = i + m.end()
        mantissa_nonzero = re.search(r"[1-9]", re.split(r"[eE]", text)[0])
    value = sign * value
    if math.isinf(value):
        return value, end, ERANGE
    if mantissa_nonzero and abs(value) < _DBL_MIN:
        return value, end, ERANGE  # underflow: zero or subnormal result
    return value, end, 0


def _check_strtox_error(s: str, ep: int, want_end: bool, errno: int) -> int:
    """QEMU's check_strtox_error(): 0 or a negative errno."""
    if errno == 0 and ep == 0:
        return -EINVAL
    if not want_end and ep < len(s):
        return -EINVAL
    return -errno


def qemu_strtou64(s: str, base: int, *, want_end: bool) -> tuple[int, int, int]:
    """QEMU's qemu_strtou64: (0 or -errno, value, end index).

    Like strtoull: leading whitespace and a sign are accepted and a negative
    number wraps around.  Without ``want_end`` trailing characters are -EINVAL.
    """
    value, ep, errno = strtoull(s, base)
    return _check_strtox_error(s, ep, want_end, errno), value, ep


def qemu_strtoi64(s: str, base: int, *, want_end: bool) -> tuple[int, int, int]:
    """QEMU's qemu_strtoi64: (0 or -errno, value, end index)."""
    value, ep, errno = strtoll(s, base)
    return _check_strtox_error(s, ep, want_end, errno), value, ep


def _qemu_parse_uint(s: str, base: int) -> tuple[int, int, int]:
    """QEMU 10.0's parse_uint() with an end pointer: (0 or -errno, value, end)."""
    value, ep, errno = strtoull(s, base)
    if errno:
        return -errno, value, ep
    if ep == 0:
        return -EINVAL, 0, 0
    if s.lstrip(C_SPACE).startswith("-"):
        return -ERANGE, 0, ep
    return 0, value, ep


def _qemu_strtod_finite_72(s: str) -> tuple[int, float, int]:
    value, ep, errno = _strtod(s)
    ret = _check_strtox_error(s, ep, True, errno)
    if ret == 0 and not math.isfinite(value):
        return -EINVAL, 0.0, 0
    return ret, value, ep


def _qemu_strtod_finite_2023(s: str) -> tuple[int, float, int]:
    value, ep, errno = _strtod(s)
    ret = _check_strtox_error(s, ep, True, errno)
    if not math.isfinite(value):
        return -EINVAL, 0.0, 0
    return ret, value, ep


# ---------------------------------------------------------------------------
# Sizes: qemu_strtosz


def _suffix_mul(c: str, unit: int) -> int:
    exponent = "BKMGTPE".find(c.upper()) if c and c != "\0" else -1
    return unit**exponent if exponent >= 0 else -1


def _scale(val: int, valf: int, mul: int) -> int | None:
    """64.64 fixed point val.valf times mul, rounded half up; None on overflow."""
    frac_product = valf * mul
    total = val * mul + (frac_product >> 64) + ((frac_product & _U64_MAX) >> 63)
    return None if total > _U64_MAX else total


def _do_strtosz_72(s: str, default_suffix: str, unit: int, warnings: list[str]) -> tuple[int, int]:
    """QEMU 7.2's do_strtosz() with end=NULL: (0 or -errno, value)."""
    valf = 0
    hexa = False
    ret, val, end = qemu_strtou64(s, 10, want_end=True)
    if ret == 0 and "-" in s[:end]:
        end, ret = 0, -EINVAL
    elif ret == 0 and val == 0 and char_at(s, end) in "xX":
        ret, val, end = qemu_strtou64(s, 16, want_end=True)
        if ret == 0 and char_at(s, end) == ".":
            end, ret = 0, -EINVAL
        hexa = True
    elif ret == 0 and char_at(s, end) == ".":
        start = end
        fret, fraction, fend = _qemu_strtod_finite_72(s[start:])
        if fret:
            # "1.k": no fractional digits; QEMU steps over the '.'.  (After
            # an ERANGE it steps past the number, maybe past the string's
            # end: there C reads what follows in memory; we call it garbage.)
            end = (start + fend + 1) if fend else start + 1
            if end > len(s):
                return -EINVAL, 0
        elif "e" in s[start : start + fend] or "E" in s[start : start + fend]:
            return -EINVAL, 0
        else:
            end = start + fend
            # (uint64_t)(fraction * 2^64): a fraction rounded to 1.0 gives
            # 2^64, which x86-64 converts to 0.
            valf = int(fraction * 2.0**64) & _U64_MAX
    if ret == 0:
        mul = _suffix_mul(char_at(s, end), unit)
        if mul > 0:
            if hexa:
                warnings.append(f"Using a multiplier suffix on hex numbers is deprecated: {s}")
            end += 1
        else:
            mul = _suffix_mul(default_suffix, unit)
        if mul == 1:
            if valf != 0:
                end, ret = 0, -EINVAL
        else:
            scaled = _scale(val, valf, mul)
            if scaled is None:
                ret = -ERANGE
            else:
                val = scaled
    if end < len(s):
        ret = -EINVAL
    return ret, val if ret == 0 else 0


def _do_strtosz_2023(s: str, default_suffix: str, unit: int) -> tuple[int, int]:
    """QEMU 8.1+'s do_strtosz() with end=NULL: (0 or -errno, value)."""
    ret, end, val = _strtosz_2023_body(s, default_suffix, unit)
    # out: with end=NULL anything left over is -EINVAL, even after -ERANGE
    if end < len(s):
        ret = -EINVAL
    return ret, val if ret == 0 else 0


def _strtosz_2023_body(s: str, default_suffix: str, unit: int) -> tuple[int, int, int]:
    """do_strtosz() up to its "out:" label: (0 or -errno, end index, value)."""
    valf = 0
    ret, val, end = _qemu_parse_uint(s, 10)
    if ret == -ERANGE:
        return ret, end, 0
    if ret == 0 and val == 0 and char_at(s, end) in "xX":
        # Input looks like hex; reparse, and insist on no fraction or suffix.
        ret, val, end = qemu_strtou64(s, 16, want_end=True)
        if ret:
            return ret, end, 0
        if char_at(s, end) == "." or _suffix_mul(char_at(s, end), unit) > 0:
            return -EINVAL, 0, 0
    elif char_at(s, end) == "." or (end == 0 and "." in s):
        fraction = 0.0
        if ret == 0 and char_at(s, end) == "." and not c_isdigit(char_at(s, end + 1)):
            end += 1  # "1.k": no fractional digits
        else:
            # strtod would take 'e' for an exponent; QEMU wants the suffix.
            copy = s[end:].split("e", 1)[0].split("E", 1)[0]
            ret, fraction, tail = _qemu_strtod_finite_2023(copy)
            end += tail
            if math.copysign(1.0, fraction) < 0:
                return -ERANGE, end, 0
        if fraction == 1.0:
            if val == _U64_MAX:
                return -ERANGE, end, 0
            val += 1
        elif ret == -ERANGE:
            valf = 1  # underflow: a non-zero fraction too small for a double
            ret = 0
        else:
            valf = int(fraction * 2.0**64)
            if valf == 0 and fraction > 0.0:
                valf = 1
    if ret:
        return ret, end, 0
    mul = _suffix_mul(char_at(s, end), unit)
    if mul > 0:
        end += 1
    else:
        mul = _suffix_mul(default_suffix, unit)
    if mul == 1:
        if valf != 0:
            return -EINVAL, 0, 0  # a fraction needs a scale
        return 0, end, val
    scaled = _scale(val, valf, mul)
    if scaled is None:
        return -ERANGE, end, 0
    return 0, end, scaled


def qemu_strtosz(
    text: str,
    syntax: SyntaxRules | None = None,
    *,
    default_suffix: str = "B",
    unit: int = 1024,
    warnings: list[str] | None = None,
) -> tuple[int, int]:
    """QEMU's qemu_strtosz (and _MiB/_metric via the keywords): (0 or -errno, bytes).

    The whole string must be consumed.  ``syntax`` is the release's rules
    (None: QEMU's current code).  ``warnings`` receives warn_report() texts
    QEMU prints while parsing (7.2: hex with a suffix).
    """
    return qemu_strtosz_of(
        text, strtosz_2023(syntax), default_suffix=default_suffix, unit=unit, warnings=warnings
    )


def qemu_strtosz_of(
    text: str,
    rewritten: bool,
    *,
    default_suffix: str = "B",
    unit: int = 1024,
    warnings: list[str] | None = None,
) -> tuple[int, int]:
    """:func:`qemu_strtosz` of 8.1's rewrite (``rewritten``) or of 7.2."""
    if rewritten:
        return _do_strtosz_2023(text, default_suffix, unit)
    sink: list[str] = [] if warnings is None else warnings
    return _do_strtosz_72(text, default_suffix, unit, sink)


_ID = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")


def id_wellformed(ident: str) -> bool:
    """QEMU's id_wellformed() (util/id.c): a letter, then letters, digits,
    '-', '.', '_' (ASCII only, as qemu_isalpha/qemu_isalnum)."""
    return _ID.fullmatch(ident) is not None


# --- value or None ------------------------------------------------------------------------


def strtou64(s: str, base: int = 0) -> int | None:
    err, value, _ = qemu_strtou64(s, base, want_end=False)
    return None if err else value


def strtoi64(s: str, base: int = 0) -> int | None:
    err, value, _ = qemu_strtoi64(s, base, want_end=False)
    return None if err else value


def parse_uint_full(s: str, base: int = 10) -> int | None:
    """QEMU's parse_uint_full(): the whole string an unsigned number (no
    sign, no trailing characters), or None."""
    err, value, end = _qemu_parse_uint(s, base)
    if err or end != len(s):
        return None
    return value


def strtod_finite(s: str, legacy: bool = False) -> float | None:
    parse = _qemu_strtod_finite_72 if legacy else _qemu_strtod_finite_2023
    err, value, end = parse(s)
    if err or end != len(s):
        return None
    return value


def strtosz(s: str, default_suffix: str = "B", legacy: bool = False) -> int | None:
    err, value = qemu_strtosz_of(s, not legacy, default_suffix=default_suffix)
    return None if err else value
