"""QEMU's command-line *syntax*: option groups, keyval, JSON and scalar values.

This module owns how QEMU turns one option argument into data, and the exact
texts of the errors it reports while doing so.  It does not know what any key
means (``cli.py`` does); it knows the grammar:

* scalars: ``qemu_strtosz`` (sizes, ``parse_size``), QemuOpts numbers
  (``parse_uint``), the keyval/opts visitors' integers (``parse_int``),
  ``qapi_bool_parse`` (``parse_bool``), with the message each context uses;
* QemuOpts (``util/qemu-option.c``): ``key=val,...`` with ``,,`` escaping, the
  implied first key, short-form booleans (``key`` / ``nokey``, deprecated),
  ``id=`` and duplicate-ID checks, ``merge_lists``, validation against a
  ``QemuOptDesc`` table and the ``help`` output (``QemuOptsList``);
* keyval (``util/keyval.c``): dotted keys into nested dicts and lists, and
  ``keyval_merge``;
* QEMU's JSON parser (``qobject/json-*.c``) for ``-object '{...}'`` and
  ``-device '{...}'``, with its error texts;
* the legacy character-device spec of ``-qmp``/``-monitor``/``-serial``
  (``qemu_chr_parse_compat``) and ``-qmp``'s monitor options;
* error layout on stderr (``util/error-report.c``): ``OptionError``,
  ``Diagnostic`` and ``format_error``.

It is a port of the C code, function for function, where the behaviour is
observable: the references are QEMU 7.2 (Debian 7.2+dfsg-7+deb12u18) and
10.0.2.  Where the two differ, the release's rules (``SyntaxRules``, fields of
the release table) say which behaviour applies; nothing here compares version
numbers.  The option tables come from the target (``Syntax``).
"""

from __future__ import annotations

import enum
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypeAlias, cast

from memdevd.records import record
from memdevd.util.option_defs import OptsListDef, Syntax, SyntaxRules, strtosz_2023

# ---------------------------------------------------------------------------
# Diagnostics and their layout on stderr

# plain: printed as is, without the program name (QEMU's fprintf(stderr)).
DiagnosticKind: TypeAlias = Literal["error", "warning", "info", "plain"]


@record
class Diagnostic:
    """One message QEMU prints with error_report()/warn_report().

    ``location`` is the command-line location as QEMU prints it: the option
    and its argument as typed, joined by a space (``"-m 1Q"``), or None when
    QEMU has no current location.  ``hint`` is printed verbatim after the
    message line (QEMU's hints end with a newline themselves).
    """

    message: str
    hint: str | None = None
    location: str | None = None
    kind: DiagnosticKind = "error"


class OptionError(ValueError):
    """A start-up error as QEMU reports it, then ``exit(1)``.

    Parsers in this module raise it without a location; whoever knows which
    command-line item was being parsed sets ``location`` (``err.at("-m 1Q")``).
    ``preceding`` holds what QEMU printed before this error while parsing the
    same argument (deprecation warnings, or a first error line such as
    ``'x' is not a valid char driver`` before ``parse error: x``).
    """

    exit_status = 1

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        location: str | None = None,
        preceding: Sequence[Diagnostic] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location
        self.preceding: list[Diagnostic] = list(preceding)

    def at(self, location: str | None) -> OptionError:
        """Set the location of this error and of its preceding diagnostics."""
        self.location = location
        for diag in self.preceding:
            if diag.location is None:
                diag.location = location
        return self

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.message, self.hint, self.location, "error")

    def __str__(self) -> str:
        return self.message


class SizeError(OptionError):
    """A size QEMU rejects; ``kind`` is ``"invalid"`` (-EINVAL) or ``"range"`` (-ERANGE)."""

    def __init__(
        self, message: str, hint: str | None = None, *, kind: Literal["invalid", "range"]
    ) -> None:
        super().__init__(message, hint)
        self.kind = kind


class HelpRequested(Exception):
    """The argument asked for help (``key,help``): QEMU prints ``text`` to stdout and exits."""

    def __init__(self, text: str, exit_status: int) -> None:
        super().__init__(text)
        self.text = text
        self.exit_status = exit_status


# -msg timestamp=on: error_report() lines start with the ISO 8601 time.
message_timestamps = False


def set_message_timestamps(on: bool) -> None:
    global message_timestamps
    message_timestamps = on


def _timestamp() -> str:
    """``real_time_iso8601()``: UTC with microseconds, e.g. 2026-11-25T15:21:17.865640Z."""
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_diagnostic(prog: str, diag: Diagnostic) -> str:
    """One diagnostic as QEMU writes it to stderr (print_loc + vreport).

    ``prog: LOCATION: [warning: ]MESSAGE\\n`` then the hint, verbatim; without a
    location ``prog: [warning: ]MESSAGE\\n``.  With ``-msg timestamp=on`` the
    line starts with the time.
    """
    if diag.kind == "plain":
        return diag.message + "\n"
    out = f"{_timestamp()} {prog}:" if message_timestamps else f"{prog}:"
    if diag.location is not None:
        out += f" {diag.location}: "
    else:
        out += " "
    if diag.kind == "warning":
        out += "warning: "
    elif diag.kind == "info":
        out += "info: "
    out += diag.message + "\n"
    if diag.hint:
        out += diag.hint
    return out


def format_error(prog: str, err: OptionError | Diagnostic) -> str:
    """What QEMU writes to stderr for ``err``: its preceding diagnostics, then it.

    ``prog`` is the program name QEMU prints (basename of argv[0]).  The text
    ends with a newline; QEMU then exits with ``err.exit_status`` (1).
    """
    if isinstance(err, Diagnostic):
        return format_diagnostic(prog, err)
    return "".join(format_diagnostic(prog, d) for d in err.preceding) + format_diagnostic(
        prog, err.diagnostic()
    )


def cmdline_location(*argv_items: str) -> str:
    """QEMU's LOC_CMDLINE text: the argv words of the current option, space-joined."""
    return " ".join(argv_items)


# ---------------------------------------------------------------------------
# C library behaviour QEMU relies on (glibc, C locale)

_C_SPACE = " \t\n\v\f\r"
_U64_MAX = (1 << 64) - 1
_I64_MAX = (1 << 63) - 1
_I64_MIN = -(1 << 63)
_EINVAL = 22
_ERANGE = 34


def _c_isalpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _c_isdigit(c: str) -> bool:
    return "0" <= c <= "9"


def _c_isalnum(c: str) -> bool:
    return _c_isalpha(c) or _c_isdigit(c)


def _at(s: str, i: int) -> str:
    """s[i], or NUL past the end, as C sees a NUL-terminated string."""
    return s[i] if 0 <= i < len(s) else "\0"


def _digit_value(c: str) -> int:
    if _c_isdigit(c):
        return ord(c) - ord("0")
    if _c_isalpha(c):
        return ord(c.upper()) - ord("A") + 10
    return 99


def _strtox(s: str, base: int) -> tuple[int, bool, int, int]:
    """glibc's strtoul core: (magnitude, negative, end index, 0 or ERANGE on u64 overflow).

    End index is 0 when nothing was converted, except for the "0x" special
    case where it points at the 'x'.
    """
    i = 0
    n = len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    negative = False
    if i < n and s[i] in "+-":
        negative = s[i] == "-"
        i += 1
    if _at(s, i) == "0":
        if base in (0, 16) and _at(s, i + 1) in "xX":
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
    return value, negative, i, _ERANGE if overflow else 0


def _strtoull(s: str, base: int) -> tuple[int, int, int]:
    """glibc strtoull: (result, end index, errno)."""
    mag, neg, end, err = _strtox(s, base)
    if err:
        return _U64_MAX, end, _ERANGE
    return ((-mag) & _U64_MAX if neg else mag), end, 0


def _strtoll(s: str, base: int) -> tuple[int, int, int]:
    """glibc strtoll: (result, end index, errno)."""
    mag, neg, end, err = _strtox(s, base)
    if neg:
        if err or mag > -_I64_MIN:
            return _I64_MIN, end, _ERANGE
        return -mag, end, 0
    if err or mag > _I64_MAX:
        return _I64_MAX, end, _ERANGE
    return mag, end, 0


_DEC_FLOAT_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX_FLOAT_RE = re.compile(r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?")
_DBL_MIN = 2.2250738585072014e-308


def _strtod(s: str) -> tuple[float, int, int]:
    """glibc strtod in the C locale: (result, end index, errno)."""
    i = 0
    n = len(s)
    while i < n and s[i] in _C_SPACE:
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
        return value, end, _ERANGE
    if mantissa_nonzero and abs(value) < _DBL_MIN:
        return value, end, _ERANGE  # underflow: zero or subnormal result
    return value, end, 0


def _check_strtox_error(s: str, ep: int, want_end: bool, errno: int) -> int:
    """QEMU's check_strtox_error(): 0 or a negative errno."""
    if errno == 0 and ep == 0:
        return -_EINVAL
    if not want_end and ep < len(s):
        return -_EINVAL
    return -errno


def qemu_strtou64(s: str, base: int, *, want_end: bool) -> tuple[int, int, int]:
    """QEMU's qemu_strtou64: (0 or -errno, value, end index).

    Like strtoull: leading whitespace and a sign are accepted and a negative
    number wraps around.  Without ``want_end`` trailing characters are -EINVAL.
    """
    value, ep, errno = _strtoull(s, base)
    return _check_strtox_error(s, ep, want_end, errno), value, ep


def qemu_strtoi64(s: str, base: int, *, want_end: bool) -> tuple[int, int, int]:
    """QEMU's qemu_strtoi64: (0 or -errno, value, end index)."""
    value, ep, errno = _strtoll(s, base)
    return _check_strtox_error(s, ep, want_end, errno), value, ep


def _qemu_parse_uint(s: str, base: int) -> tuple[int, int, int]:
    """QEMU 10.0's parse_uint() with an end pointer: (0 or -errno, value, end)."""
    value, ep, errno = _strtoull(s, base)
    if errno:
        return -errno, value, ep
    if ep == 0:
        return -_EINVAL, 0, 0
    if s.lstrip(_C_SPACE).startswith("-"):
        return -_ERANGE, 0, ep
    return 0, value, ep


def _qemu_strtod_finite_72(s: str) -> tuple[int, float, int]:
    value, ep, errno = _strtod(s)
    ret = _check_strtox_error(s, ep, True, errno)
    if ret == 0 and not math.isfinite(value):
        return -_EINVAL, 0.0, 0
    return ret, value, ep


def _qemu_strtod_finite_2023(s: str) -> tuple[int, float, int]:
    value, ep, errno = _strtod(s)
    ret = _check_strtox_error(s, ep, True, errno)
    if not math.isfinite(value):
        return -_EINVAL, 0.0, 0
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
        end, ret = 0, -_EINVAL
    elif ret == 0 and val == 0 and _at(s, end) in "xX":
        ret, val, end = qemu_strtou64(s, 16, want_end=True)
        if ret == 0 and _at(s, end) == ".":
            end, ret = 0, -_EINVAL
        hexa = True
    elif ret == 0 and _at(s, end) == ".":
        start = end
        fret, fraction, fend = _qemu_strtod_finite_72(s[start:])
        if fret:
            # "1.k": no fractional digits; QEMU steps over the '.'.  (After
            # an ERANGE it steps past the number, maybe past the string's
            # end: there C reads what follows in memory; we call it garbage.)
            end = (start + fend + 1) if fend else start + 1
            if end > len(s):
                return -_EINVAL, 0
        elif "e" in s[start : start + fend] or "E" in s[start : start + fend]:
            return -_EINVAL, 0
        else:
            end = start + fend
            # (uint64_t)(fraction * 2^64): a fraction rounded to 1.0 gives
            # 2^64, which x86-64 converts to 0.
            valf = int(fraction * 2.0**64) & _U64_MAX
    if ret == 0:
        mul = _suffix_mul(_at(s, end), unit)
        if mul > 0:
            if hexa:
                warnings.append(f"Using a multiplier suffix on hex numbers is deprecated: {s}")
            end += 1
        else:
            mul = _suffix_mul(default_suffix, unit)
        if mul == 1:
            if valf != 0:
                end, ret = 0, -_EINVAL
        else:
            scaled = _scale(val, valf, mul)
            if scaled is None:
                ret = -_ERANGE
            else:
                val = scaled
    if end < len(s):
        ret = -_EINVAL
    return ret, val if ret == 0 else 0


def _do_strtosz_2023(s: str, default_suffix: str, unit: int) -> tuple[int, int]:
    """QEMU 8.1+'s do_strtosz() with end=NULL: (0 or -errno, value)."""
    ret, end, val = _strtosz_2023_body(s, default_suffix, unit)
    # out: with end=NULL anything left over is -EINVAL, even after -ERANGE
    if end < len(s):
        ret = -_EINVAL
    return ret, val if ret == 0 else 0


def _strtosz_2023_body(s: str, default_suffix: str, unit: int) -> tuple[int, int, int]:
    """do_strtosz() up to its "out:" label: (0 or -errno, end index, value)."""
    valf = 0
    ret, val, end = _qemu_parse_uint(s, 10)
    if ret == -_ERANGE:
        return ret, end, 0
    if ret == 0 and val == 0 and _at(s, end) in "xX":
        # Input looks like hex; reparse, and insist on no fraction or suffix.
        ret, val, end = qemu_strtou64(s, 16, want_end=True)
        if ret:
            return ret, end, 0
        if _at(s, end) == "." or _suffix_mul(_at(s, end), unit) > 0:
            return -_EINVAL, 0, 0
    elif _at(s, end) == "." or (end == 0 and "." in s):
        fraction = 0.0
        if ret == 0 and _at(s, end) == "." and not _c_isdigit(_at(s, end + 1)):
            end += 1  # "1.k": no fractional digits
        else:
            # strtod would take 'e' for an exponent; QEMU wants the suffix.
            copy = s[end:].split("e", 1)[0].split("E", 1)[0]
            ret, fraction, tail = _qemu_strtod_finite_2023(copy)
            end += tail
            if math.copysign(1.0, fraction) < 0:
                return -_ERANGE, end, 0
        if fraction == 1.0:
            if val == _U64_MAX:
                return -_ERANGE, end, 0
            val += 1
        elif ret == -_ERANGE:
            valf = 1  # underflow: a non-zero fraction too small for a double
            ret = 0
        else:
            valf = int(fraction * 2.0**64)
            if valf == 0 and fraction > 0.0:
                valf = 1
    if ret:
        return ret, end, 0
    mul = _suffix_mul(_at(s, end), unit)
    if mul > 0:
        end += 1
    else:
        mul = _suffix_mul(default_suffix, unit)
    if mul == 1:
        if valf != 0:
            return -_EINVAL, 0, 0  # a fraction needs a scale
        return 0, end, val
    scaled = _scale(val, valf, mul)
    if scaled is None:
        return -_ERANGE, end, 0
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


class SizeContext(enum.Enum):
    """Which QEMU code parses the size, which decides the error text."""

    #: QemuOpts QEMU_OPT_SIZE (parse_option_size), also the string input
    #: visitor (``-device foo,size=...``, ``-global``).
    QEMU_OPTS = "qemu_opts"
    #: the keyval QObject input visitor (``-machine memory.size=``, ``-blockdev``).
    KEYVAL = "keyval"
    #: the opts visitor (``-object`` in QemuOpts syntax, ``-numa``).
    OPTS_VISITOR = "opts_visitor"


_SIZE_HINT = (
    "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
    "and exabytes, respectively.\n"
)


def parse_size(
    text: str,
    *,
    name: str = "size",
    context: SizeContext = SizeContext.QEMU_OPTS,
    syntax: SyntaxRules | None = None,
    warnings: list[str] | None = None,
) -> int:
    """Parse a size as qemu_strtosz does; raise SizeError with QEMU's text for ``context``.

    ``name`` is the parameter name QEMU puts in the message (the keyval
    visitor uses the full dotted path, e.g. ``memory.size``).
    """
    ret, value = qemu_strtosz(text, syntax, warnings=warnings)
    if ret == 0:
        return value
    kind: Literal["invalid", "range"] = "range" if ret == -_ERANGE else "invalid"
    if context is SizeContext.QEMU_OPTS:
        if kind == "range":
            raise SizeError(f"Value '{text}' is out of range for parameter '{name}'", kind=kind)
        raise SizeError(
            f"Parameter '{name}' expects a non-negative number below 2^64", _SIZE_HINT, kind=kind
        )
    if context is SizeContext.KEYVAL:
        raise SizeError(f"Parameter '{name}' expects a size", kind=kind)
    raise SizeError(f"Parameter '{name}' expects a size value", kind=kind)


class NumberContext(enum.Enum):
    """Which QEMU code parses an integer, which decides syntax and error text."""

    #: QemuOpts QEMU_OPT_NUMBER: qemu_strtou64(base 0); "-1" wraps to 2^64-1.
    QEMU_OPTS = "qemu_opts"
    #: keyval QObject input visitor: qemu_strtou64 / qemu_strtoi64, base 0.
    KEYVAL = "keyval"
    #: opts visitor: parse_uint / strtoll, base 0.
    OPTS_VISITOR = "opts_visitor"


def parse_uint(text: str, *, name: str, context: NumberContext = NumberContext.QEMU_OPTS) -> int:
    """An unsigned 64-bit number as ``context`` parses it; OptionError with QEMU's text."""
    if context is NumberContext.QEMU_OPTS:
        ret, value, _ = qemu_strtou64(text, 0, want_end=False)
        if ret == -_ERANGE:
            raise OptionError(f"Value '{text}' is too large for parameter '{name}'")
        if ret:
            raise OptionError(f"Parameter '{name}' expects a number")
        return value
    if context is NumberContext.KEYVAL:
        ret, value, _ = qemu_strtou64(text, 0, want_end=False)
        if ret:
            raise OptionError(f"Parameter '{name}' expects integer")
        return value
    # opts visitor: parse_uint() rejects a minus sign (after whitespace)
    value, ep, errno = _strtoull(text, 0)
    if errno or ep == 0 or text.lstrip(_C_SPACE).startswith("-") or ep < len(text):
        raise OptionError(f"Parameter '{name}' expects a uint64 value")
    return value


def parse_int(text: str, *, name: str, context: NumberContext = NumberContext.KEYVAL) -> int:
    """A signed 64-bit number (keyval or opts visitor); OptionError with QEMU's text."""
    if context is NumberContext.OPTS_VISITOR:
        value, ep, errno = _strtoll(text, 0)
        if errno or ep == 0 or ep < len(text):
            raise OptionError(f"Parameter '{name}' expects an int64 value")
        return value
    if context is NumberContext.QEMU_OPTS:
        raise ValueError("QemuOpts has no signed numbers")
    ret, value, _ = qemu_strtoi64(text, 0, want_end=False)
    if ret:
        raise OptionError(f"Parameter '{name}' expects integer")
    return value


_TRUE_WORDS = frozenset({"on", "yes", "true", "y"})
_FALSE_WORDS = frozenset({"off", "no", "false", "n"})


def parse_bool(text: str, *, name: str) -> bool:
    """qapi_bool_parse (QEMU 7.2 and 10.0): on/yes/true/y, off/no/false/n, case-sensitive.

    The QemuOpts, keyval-visitor, opts-visitor and string-visitor paths all
    report "Parameter 'NAME' expects 'on' or 'off'".
    """
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise OptionError(f"Parameter '{name}' expects 'on' or 'off'")


def is_help_option(text: str) -> bool:
    """QEMU's is_help_option(): ``help`` or ``?``."""
    return text in ("help", "?")


def _starts_with_help_option(text: str) -> int:
    if text.startswith("?"):
        return 1
    if text.startswith("help"):
        return 4
    return 0


_ID = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")


def id_wellformed(ident: str) -> bool:
    """QEMU's id_wellformed() (util/id.c): a letter, then letters, digits,
    '-', '.', '_' (ASCII only, as qemu_isalpha/qemu_isalnum)."""
    return _ID.fullmatch(ident) is not None


def parse_qapi_name(text: str, complete: bool) -> int:
    """QEMU's parse_qapi_name(): length of the QAPI name at the start, or -1."""
    p = 0
    if _at(text, p) == "_":  # downstream __RFQDN_
        p += 1
        if _at(text, p) != "_":
            return -1
        p += 1
        while p < len(text) and (_c_isalnum(text[p]) or text[p] in "-."):
            p += 1
        if _at(text, p) != "_":
            return -1
        p += 1
    if not _c_isalpha(_at(text, p)):
        return -1
    p += 1
    while p < len(text) and (_c_isalnum(text[p]) or text[p] in "-_"):
        p += 1
    if complete and p < len(text):
        return -1
    return p


# ---------------------------------------------------------------------------
# QemuOpts


class OptType(enum.Enum):
    """QemuOptType."""

    STRING = "string"
    BOOL = "bool"
    NUMBER = "number"
    SIZE = "size"


_TYPE_HELP = {
    OptType.STRING: "str",
    OptType.BOOL: "bool (on/off)",
    OptType.NUMBER: "num",
    OptType.SIZE: "size",
}


@record(frozen=True)
class OptDesc:
    """QemuOptDesc: an accepted key, its type, help text and default."""

    name: str
    type: OptType = OptType.STRING
    help: str | None = None
    def_value_str: str | None = None


@record
class QemuOpt:
    """One ``key=value`` as given: the raw string and, when typed, its value."""

    name: str
    str: str
    desc: OptDesc | None = None
    value: bool | int | None = None


def get_opt_value(params: str, pos: int = 0) -> tuple[str, int]:
    """QEMU's get_opt_value(): the value at ``pos`` up to an unescaped comma.

    ``,,`` stands for one comma.  Returns (value, index of the ending comma or
    of the end of the string).
    """
    parts: list[str] = []
    n = len(params)
    while True:
        offset = params.find(",", pos)
        if offset < 0:
            offset = n
        length = offset - pos
        doubled = offset < n and _at(params, offset + 1) == ","
        if doubled:
            length += 1
        parts.append(params[pos : pos + length])
        if not doubled:
            return "".join(parts), offset
        pos = offset + 2


def escape_opt_value(value: str) -> str:
    """The QemuOpts spelling of ``value``: each comma doubled (QEMU's escaped_print)."""
    return value.replace(",", ",,")


@record
class _NameValue:
    name: str
    value: str
    next_pos: int
    is_help: bool
    warning: Diagnostic | None


def _get_opt_name_value(
    params: str, pos: int, firstname: str | None, warn_on_flag: bool
) -> _NameValue:
    rest = params[pos:]
    length = next((i for i, c in enumerate(rest) if c in "=,"), len(rest))  # strcspn
    is_help = False
    warning: Diagnostic | None = None
    if _at(params, pos + length) != "=":
        if firstname is not None:
            name = firstname
            value, p = get_opt_value(params, pos)
        else:
            # option without value, must be a flag
            name = params[pos : pos + length]
            p = pos + length
            prefix = ""
            if name.startswith("no"):
                name = name[2:]
                value = "off"
                prefix = "no"
            else:
                value = "on"
                is_help = is_help_option(name)
            if not is_help and warn_on_flag:
                if name == "delay":
                    hint = f"Please use nodelay={'on' if prefix else 'off'} instead\n"
                else:
                    hint = f"Please use {name}={value} instead\n"
                warning = Diagnostic(
                    f"short-form boolean option '{prefix}{name}' deprecated", hint, kind="warning"
                )
    else:
        name = params[pos : pos + length]
        value, p = get_opt_value(params, pos + length + 1)
    if _at(params, p) == ",":
        p += 1
    return _NameValue(name, value, p, is_help, warning)


def has_help_option(params: str) -> bool:
    """QEMU's has_help_option(): some item of ``params`` is a ``help``/``?`` flag."""
    pos = 0
    while pos < len(params):
        nv = _get_opt_name_value(params, pos, None, False)
        if nv.is_help:
            return True
        pos = nv.next_pos
    return False


def _opts_parse_id(params: str) -> str | None:
    pos = 0
    while pos < len(params):
        nv = _get_opt_name_value(params, pos, None, False)
        if nv.name == "id":
            return nv.value
        pos = nv.next_pos
    return None


class QemuOpts:
    """One parsed option group (``QemuOpts``): its id and its ``key=value`` items in order.

    Repeated keys are all kept; ``get`` returns the last one, as
    ``qemu_opt_get`` does.  Values are the raw strings as typed (after
    ``,,`` unescaping); typed lists also keep the parsed ``QemuOpt.value``.
    """

    def __init__(self, opts_list: QemuOptsList, opts_id: str | None) -> None:
        self.list = opts_list
        self.id = opts_id
        self.opts: list[QemuOpt] = []

    def __repr__(self) -> str:
        items = ", ".join(f"{o.name}={o.str!r}" for o in self.opts)
        return f"<QemuOpts {self.list.name} id={self.id!r} [{items}]>"

    # -- reading
    def find(self, name: str) -> QemuOpt | None:
        """qemu_opt_find(): the last ``name`` item."""
        for opt in reversed(self.opts):
            if opt.name == name:
                return opt
        return None

    def get(self, name: str) -> str | None:
        """qemu_opt_get(): the last value of ``name``, else its default, else None."""
        opt = self.find(name)
        if opt is not None:
            return opt.str
        desc = self.list.find_desc(name)
        return desc.def_value_str if desc else None

    def get_all(self, name: str) -> list[str]:
        return [o.str for o in self.opts if o.name == name]

    def get_bool(self, name: str, default: bool) -> bool:
        opt = self.find(name)
        if opt is None:
            desc = self.list.find_desc(name)
            if desc and desc.def_value_str is not None:
                return parse_bool(desc.def_value_str, name=name)
            return default
        if isinstance(opt.value, bool):
            return opt.value
        return parse_bool(opt.str, name=name)

    def get_number(self, name: str, default: int) -> int:
        opt = self.find(name)
        if opt is None:
            desc = self.list.find_desc(name)
            if desc and desc.def_value_str is not None:
                return parse_uint(desc.def_value_str, name=name)
            return default
        if isinstance(opt.value, int) and not isinstance(opt.value, bool):
            return opt.value
        return parse_uint(opt.str, name=name)

    def get_size(self, name: str, default: int) -> int:
        opt = self.find(name)
        if opt is None:
            desc = self.list.find_desc(name)
            if desc and desc.def_value_str is not None:
                return parse_size(desc.def_value_str, name=name, syntax=self.list.syntax)
            return default
        if isinstance(opt.value, int) and not isinstance(opt.value, bool):
            return opt.value
        return parse_size(opt.str, name=name, syntax=self.list.syntax)

    def items(self) -> list[tuple[str, str]]:
        """All ``(key, raw value)`` pairs in the order given (``id`` excluded)."""
        return [(o.name, o.str) for o in self.opts]

    def to_dict(self) -> dict[str, str]:
        """qemu_opts_to_qdict(): ``id`` first if set, then each key, last value wins."""
        out: dict[str, str] = {}
        if self.id is not None:
            out["id"] = self.id
        for o in self.opts:
            out[o.name] = o.str
        return out

    def has_help_opt(self) -> bool:
        """qemu_opt_has_help_opt(): a ``help`` or ``?`` key is present."""
        return any(is_help_option(o.name) for o in self.opts)

    def to_params(self) -> str:
        """These options in QemuOpts syntax (``id=`` first), commas escaped."""
        parts = [f"id={self.id}"] if self.id is not None else []
        parts += [f"{o.name}={escape_opt_value(o.str)}" for o in self.opts]
        return ",".join(parts)

    # -- writing
    def set(self, name: str, value: str, *, warnings: list[Diagnostic] | None = None) -> None:
        """qemu_opt_set(): add ``name=value`` after validating it."""
        opt = QemuOpt(name, value)
        self.list._validate(opt, warnings)
        self.opts.append(opt)

    def set_bool(self, name: str, value: bool) -> None:
        """qemu_opt_set_bool()."""
        desc = self.list.find_desc(name)
        if desc is None and not self.list.accepts_any:
            raise OptionError(f"Invalid parameter '{name}'")
        self.opts.append(QemuOpt(name, "on" if value else "off", desc, value))

    def unset(self, name: str) -> bool:
        """qemu_opt_unset() (the last ``name``); False if absent."""
        for i in range(len(self.opts) - 1, -1, -1):
            if self.opts[i].name == name:
                del self.opts[i]
                return True
        return False

    def delete_all(self, name: str) -> None:
        self.opts = [o for o in self.opts if o.name != name]

    def do_parse(
        self,
        params: str,
        firstname: str | None = None,
        *,
        warn_on_flag: bool = False,
        warnings: list[Diagnostic] | None = None,
    ) -> None:
        """qemu_opts_do_parse(): add the items of ``params`` (``id`` is skipped)."""
        self.list._opts_do_parse(self, params, firstname, warn_on_flag, False, warnings)

    def delete(self) -> None:
        """qemu_opts_del(): remove from its list (frees the id for reuse)."""
        if self in self.list.head:
            self.list.head.remove(self)

    def validate(
        self, desc: Sequence[OptDesc], *, warnings: list[Diagnostic] | None = None
    ) -> None:
        """qemu_opts_validate(): check an accept-any group against ``desc``."""
        by_name = {d.name: d for d in desc}
        for opt in self.opts:
            d = by_name.get(opt.name)
            if d is None:
                raise OptionError(f"Invalid parameter '{opt.name}'")
            opt.desc = d
            opt.value = _parse_typed(opt, d, self.list.syntax, warnings)


def _parse_typed(
    opt: QemuOpt, desc: OptDesc, syntax: SyntaxRules | None, warnings: list[Diagnostic] | None
) -> bool | int | None:
    if desc.type is OptType.BOOL:
        return parse_bool(opt.str, name=opt.name)
    if desc.type is OptType.NUMBER:
        return parse_uint(opt.str, name=opt.name)
    if desc.type is OptType.SIZE:
        texts: list[str] = []
        try:
            return parse_size(opt.str, name=opt.name, syntax=syntax, warnings=texts)
        finally:
            # 7.2 warns about hex with a suffix (warn_report at the current location)
            if warnings is not None:
                warnings.extend(Diagnostic(t, kind="warning") for t in texts)
    return None


class QemuOptsList:
    """QemuOptsList: a named option group's grammar (desc) and its parsed instances.

    It is stateful like QEMU's: ``head`` holds every QemuOpts created from
    it, which is what duplicate-ID errors and ``merge_lists`` act on.  Use one
    instance per QEMU run (``new_opts_lists()`` makes a fresh set).
    """

    def __init__(
        self,
        name: str,
        *,
        implied_opt_name: str | None = None,
        merge_lists: bool = False,
        desc: Iterable[OptDesc] = (),
        syntax: SyntaxRules | None = None,
    ) -> None:
        self.name = name
        self.implied_opt_name = implied_opt_name
        self.merge_lists = merge_lists
        self.desc: tuple[OptDesc, ...] = tuple(desc)
        # The release's rules (None: QEMU's current code).
        self.syntax = syntax
        self.head: list[QemuOpts] = []

    @classmethod
    def from_def(cls, d: OptsListDef, syntax: SyntaxRules | None) -> QemuOptsList:
        return cls(
            d.name,
            implied_opt_name=d.implied_opt_name,
            merge_lists=d.merge_lists,
            desc=_desc_of(d),
            syntax=syntax,
        )

    def __repr__(self) -> str:
        return f"<QemuOptsList {self.name} ({len(self.head)} opts)>"

    @property
    def accepts_any(self) -> bool:
        """opts_accepts_any(): no desc means any key is accepted (checked later)."""
        return not self.desc

    def find_desc(self, name: str) -> OptDesc | None:
        for d in self.desc:
            if d.name == name:
                return d
        return None

    def find(self, opts_id: str | None) -> QemuOpts | None:
        """qemu_opts_find()."""
        for opts in self.head:
            if opts.id is None and opts_id is None:
                return opts
            if opts.id is not None and opts_id is not None and opts.id == opts_id:
                return opts
        return None

    def create(self, opts_id: str | None = None, fail_if_exists: bool = True) -> QemuOpts:
        """qemu_opts_create(): a new (or, with merge_lists, the single) group."""
        if self.merge_lists:
            if opts_id is not None:
                raise OptionError("Invalid parameter 'id'")
            existing = self.find(None)
            if existing is not None:
                return existing
        elif opts_id is not None:
            if not id_wellformed(opts_id):
                raise OptionError(
                    "Parameter 'id' expects an identifier",
                    "Identifiers consist of letters, digits, '-', '.', '_', "
                    "starting with a letter.\n",
                )
            if fail_if_exists and self.find(opts_id) is not None:
                raise OptionError(f"Duplicate ID '{opts_id}' for {self.name}")
        opts = QemuOpts(self, opts_id)
        self.head.append(opts)
        return opts

    def _validate(self, opt: QemuOpt, warnings: list[Diagnostic] | None) -> None:
        desc = self.find_desc(opt.name)
        if desc is None and not self.accepts_any:
            raise OptionError(f"Invalid parameter '{opt.name}'")
        opt.desc = desc
        if desc is not None:
            opt.value = _parse_typed(opt, desc, self.syntax, warnings)

    def _opts_do_parse(
        self,
        opts: QemuOpts,
        params: str,
        firstname: str | None,
        warn_on_flag: bool,
        want_help: bool,
        warnings: list[Diagnostic] | None,
    ) -> bool:
        """opts_do_parse(); returns True when a help flag stopped it."""
        pos = 0
        while pos < len(params):
            nv = _get_opt_name_value(params, pos, firstname, warn_on_flag)
            pos = nv.next_pos
            if nv.warning is not None and warnings is not None:
                warnings.append(nv.warning)
            if want_help and nv.is_help:
                return True
            firstname = None
            if nv.name == "id":
                continue
            opt = QemuOpt(nv.name, nv.value)
            self._validate(opt, warnings)
            opts.opts.append(opt)
        return False

    def _parse(
        self,
        params: str,
        permit_abbrev: bool,
        warn_on_flag: bool,
        want_help: bool,
        warnings: list[Diagnostic],
    ) -> QemuOpts | None:
        if permit_abbrev and self.implied_opt_name is None:
            raise ValueError(f"QemuOptsList {self.name} has no implied option name")
        firstname = self.implied_opt_name if permit_abbrev else None
        opts_id = _opts_parse_id(params)
        opts = self.create(opts_id, not self.merge_lists)
        try:
            helped = self._opts_do_parse(opts, params, firstname, warn_on_flag, want_help, warnings)
        except OptionError:
            # opts_parse() deletes the whole group on error (for a merged
            # list that drops what earlier options had set, too).
            opts.delete()
            raise
        if helped:
            opts.delete()
            return None
        return opts

    def parse(
        self,
        params: str,
        permit_abbrev: bool = False,
        *,
        warnings: list[Diagnostic] | None = None,
    ) -> QemuOpts:
        """qemu_opts_parse(): no deprecation warnings, ``help`` is an ordinary key."""
        sink: list[Diagnostic] = [] if warnings is None else warnings
        opts = self._parse(params, permit_abbrev, False, False, sink)
        assert opts is not None
        return opts

    def parse_noisily(
        self,
        params: str,
        permit_abbrev: bool = False,
        *,
        warnings: list[Diagnostic] | None = None,
    ) -> QemuOpts:
        """qemu_opts_parse_noisily(), as the command line uses it.

        Short-form booleans (``key``, ``nokey``) produce QEMU's deprecation
        warning (appended to ``warnings``, and attached to a following
        error).  For a list with a desc, a ``help``/``?`` item raises
        HelpRequested with the list's help text and exit status 1 (QEMU's
        callers exit(1) when this returns NULL).
        """
        sink: list[Diagnostic] = [] if warnings is None else warnings
        start = len(sink)
        try:
            opts = self._parse(params, permit_abbrev, True, not self.accepts_any, sink)
        except OptionError as err:
            err.preceding[:0] = sink[start:]
            raise
        if opts is None:
            raise HelpRequested(self.print_help(True), exit_status=1)
        return opts

    def print_help(self, print_caption: bool = True) -> str:
        """qemu_opts_print_help(): the text QEMU prints to stdout."""
        lines = []
        for d in self.desc:
            s = f"  {d.name}=<{_TYPE_HELP[d.type]}>"
            if d.help:
                if len(s) < 24:
                    s += " " * (24 - len(s))
                s += f" - {d.help}"
            lines.append(s)
        lines.sort(key=lambda x: x.encode())
        out = ""
        if print_caption and lines:
            out += f"{self.name} options:\n"
        elif not lines:
            out += f"There are no options for {self.name}.\n"
        return out + "".join(line + "\n" for line in lines)


# The descs are immutable: built once per table entry, shared by every run
# (fleet mode parses a command line per VM).
_DESCS: dict[int, tuple[OptsListDef, tuple[OptDesc, ...]]] = {}


def _desc_of(d: OptsListDef) -> tuple[OptDesc, ...]:
    entry = _DESCS.get(id(d))
    if entry is None or entry[0] is not d:
        desc = tuple(OptDesc(x.name, OptType(x.type), x.help, x.def_value_str) for x in d.desc)
        entry = _DESCS[id(d)] = (d, desc)
    return entry[1]


def new_opts_lists(syntax: Syntax) -> dict[str, QemuOptsList]:
    """Fresh (empty) QemuOptsLists for one run, by QEMU list name.

    Contains ``memory`` (-m), ``accel``, ``object``, ``device``, ``global``,
    ``numa``, ``mon``, ``chardev``, ``smp-opts``, ``boot-opts``, ``name``,
    ``overcommit``, ``msg``, ``action``, ``rtc``, ``icount``, ``fw_cfg``,
    ``option-rom``, ``add-fd``, ``tpmdev`` and (10.0) ``run-with``, with
    QEMU's descs for that version.
    """
    return {name: QemuOptsList.from_def(d, syntax) for name, d in syntax.opts_lists.items()}


# ---------------------------------------------------------------------------
# keyval

KeyvalValue: TypeAlias = "str | dict[str, KeyvalValue] | list[KeyvalValue]"
KeyvalDict: TypeAlias = "dict[str, KeyvalValue]"


@record
class KeyvalResult:
    """keyval_parse()'s dictionary and whether a ``help``/``?`` item was present."""

    values: dict[str, KeyvalValue]
    help: bool = False


def _key_to_index(key: str) -> tuple[int, int]:
    """key_to_index(): (index capped at INT_MAX or -1, length of the digits)."""
    if not _c_isdigit(_at(key, 0)):
        return -1, 0
    m = re.match(r"\d+", key)
    assert m is not None
    return min(int(m.group()), 2**31 - 1), m.end()


def _keyval_parse_put(
    cur: dict[str, KeyvalValue], key_in_cur: str, value: str | None, key_prefix: str
) -> KeyvalValue:
    old = cur.get(key_in_cur)
    if old is not None:
        if (value is None and not isinstance(old, dict)) or (
            value is not None and not isinstance(old, str)
        ):
            raise OptionError(f"Parameters '{key_prefix}.*' used inconsistently")
        if value is None:
            return old
        cur[key_in_cur] = value
        return value
    new: KeyvalValue = {} if value is None else value
    cur[key_in_cur] = new
    return new


def _keyval_parse_one(
    qdict: dict[str, KeyvalValue], params: str, pos: int, implied_key: str | None
) -> tuple[int, bool]:
    """keyval_parse_one(): (next position, help seen)."""
    rest = params[pos:]
    length = next((i for i, c in enumerate(rest) if c in "=,"), len(rest))
    key_src = params
    key_start = pos
    val_end: int | None = None
    implied = False
    if length and _at(params, pos + length) != "=":
        if _starts_with_help_option(rest) == length:
            s = pos + length
            if _at(params, s) == ",":
                s += 1
            return s, True
        if implied_key is not None:
            implied = True
            key_src = implied_key
            key_start = 0
            val_end = pos + length
            length = len(implied_key)
    key_end = key_start + length
    key = key_src[key_start:key_end]

    cur = qdict
    s = key_start
    key_in_cur = ""
    while True:
        frag = key_src[s:]
        if s != key_start and _key_to_index(frag)[0] >= 0:
            flen = _key_to_index(frag)[1]
        else:
            ret = parse_qapi_name(frag, False)
            flen = max(ret, 0)
        if not flen or (s + flen < key_end and key_src[s + flen] != "."):
            raise OptionError(f"Invalid parameter '{key}'")
        if flen >= 128:
            fragment = " fragment" if s != key_start or s + flen != key_end else ""
            raise OptionError(f"Parameter{fragment} '{key_src[s : s + flen]}' is too long")
        if s != key_start:
            nxt = _keyval_parse_put(cur, key_in_cur, None, key_src[key_start : s - 1])
            assert isinstance(nxt, dict)
            cur = nxt
        key_in_cur = key_src[s : s + flen]
        s += flen
        if _at(key_src, s) != ".":
            break
        s += 1

    if implied:
        assert val_end is not None
        value = params[pos:val_end]
        s = val_end
        if _at(params, s) == ",":
            s += 1
    else:
        if _at(key_src, s) != "=":
            raise OptionError(f"Expected '=' after parameter '{key_src[key_start:s]}'")
        s += 1
        chars: list[str] = []
        n = len(params)
        while s < n:
            if params[s] == ",":
                s += 1
                if _at(params, s) != ",":
                    break
            chars.append(params[s])
            s += 1
        value = "".join(chars)
    _keyval_parse_put(cur, key_in_cur, value, key)
    return s, False


def _keyval_listify(cur: dict[str, KeyvalValue], key_of_cur: list[str]) -> KeyvalValue:
    has_index = False
    has_member = False
    for k in list(cur):
        v = cur[k]
        if _key_to_index(k)[0] >= 0 and _key_to_index(k)[1] == len(k):
            has_index = True
        else:
            has_member = True
        if isinstance(v, dict):
            new = _keyval_listify(v, [*key_of_cur, k])
            if new is not v:
                cur[k] = new
    prefix = "".join(f"{k}." for k in key_of_cur)
    if has_index and has_member:
        raise OptionError(f"Parameters '{prefix}*' used inconsistently")
    if not has_index:
        return cur
    nelt = len(cur) + 1
    elt: list[KeyvalValue | None] = [None] * nelt
    max_index = -1
    for k, v in cur.items():
        index = _key_to_index(k)[0]
        max_index = max(max_index, index)
        if index >= nelt - 1:
            continue
        elt[index] = v
    out: list[KeyvalValue] = []
    for i in range(min(nelt, max_index + 1)):
        item = elt[i]
        if item is None:
            raise OptionError(f"Parameter '{prefix}{i}' missing")
        out.append(item)
    return out


def keyval_parse(
    params: str,
    implied_key: str | None = None,
    *,
    into: dict[str, KeyvalValue] | None = None,
    help_allowed: bool = True,
) -> KeyvalResult:
    """keyval_parse() / keyval_parse_into(): ``a.b=1,c.0=x`` into nested dicts and lists.

    Values stay strings.  ``into`` is updated in place, as ``-machine`` does
    with its accumulated dictionary (later keys replace earlier ones, a key
    used both as a leaf and as a prefix is an error); on error it keeps what
    was parsed before the error, as QEMU's does.  Without ``help_allowed`` a
    help item is the error "Help is not available for this option".
    """
    qdict: dict[str, KeyvalValue] = {} if into is None else into
    pos = 0
    help_seen = False
    key = implied_key
    while pos < len(params):
        pos, h = _keyval_parse_one(qdict, params, pos, key)
        help_seen = help_seen or h
        key = None
    if help_seen and not help_allowed:
        raise OptionError("Help is not available for this option")
    listified = _keyval_listify(qdict, [])
    assert listified is qdict
    return KeyvalResult(qdict, help_seen)


def keyval_merge(dest: dict[str, KeyvalValue], merged: Mapping[str, KeyvalValue]) -> None:
    """keyval_merge(): dicts merge recursively, lists concatenate, scalars are replaced."""
    _keyval_do_merge(dest, merged, "")


def _keyval_do_merge(
    dest: dict[str, KeyvalValue], merged: Mapping[str, KeyvalValue], path: str
) -> None:
    for k, v in merged.items():
        old = dest.get(k)
        if old is not None:
            if type(old) is not type(v):
                raise OptionError(f"Parameter '{path}{k}' used inconsistently")
            if isinstance(v, dict):
                assert isinstance(old, dict)
                _keyval_do_merge(old, v, f"{path}{k}.")
                continue
            if isinstance(v, list):
                assert isinstance(old, list)
                old.extend(v)
                continue
        dest[k] = v


# ---------------------------------------------------------------------------
# QEMU's JSON parser (qobject_from_json): the monitor's, from qmp.framing

JSONValue: TypeAlias = "dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None"


def qobject_from_json(text: str) -> JSONValue:
    """QEMU's qobject_from_json(): one JSON value, or OptionError with QEMU's text.

    QEMU's dialect, from the same lexer and parser as the monitor
    (:mod:`memdevd.qmp.framing`): single-quoted strings, numbers that fit in
    int64/uint64 are integers (others floats), duplicate keys and trailing
    garbage are errors.  Objects keep their key order.  ``consume_json()``
    keeps the first error, and a second value is "at most one" error.
    """
    from memdevd.qmp.framing import JSONError, JSONStreamer

    streamer = JSONStreamer(fast=False)
    items = streamer.feed(os.fsencode(text))
    items += streamer.flush()
    value: JSONValue = None
    have_value = False
    error: str | None = None
    for item in items:
        if have_value:
            have_value = False
            value = None
            error = "Expecting at most one JSON value"
        if error is not None:
            continue
        if isinstance(item, JSONError):
            error = item.desc
        else:
            value = cast("JSONValue", item)
            have_value = True
    if error is not None:
        raise OptionError(error)
    if not have_value:
        raise OptionError("Expecting a JSON value")
    return value


def parse_keyval_or_json(text: str, implied_key: str | None) -> tuple[dict[str, JSONValue], bool]:
    """qobject_input_visitor_new_str()'s parsing step: JSON if ``text`` starts with '{'.

    Used by ``-blockdev``, ``-display``, ``-compat``, ``-audiodev``,
    ``-netdev`` (modern form) and 10.0's ``-incoming``.  Returns the
    dictionary and whether it was JSON (JSON values are typed, keyval values
    are strings: the two are visited with different rules).
    """
    if text.startswith("{"):
        value = qobject_from_json(text)
        assert isinstance(value, dict)
        return value, True
    result = keyval_parse(text, implied_key, help_allowed=False)
    # keyval values are strings, dicts and lists: a subset of JSON values
    return cast("dict[str, JSONValue]", result.values), False


# ---------------------------------------------------------------------------
# Legacy character device specs (-qmp, -monitor, -serial ...) and -qmp/-mon


def _scan_host_port(p: str, port_stop: str) -> tuple[str, str, int] | None:
    """sscanf(p, "%64[^:]:%32[^<stop>]%n") then the ":%32[^<stop>]%n" fallback."""
    m = re.match(rf"([^:]{{1,64}}):([^{re.escape(port_stop)}]{{1,32}})", p)
    if m:
        return m.group(1), m.group(2), m.end()
    m = re.match(rf":([^{re.escape(port_stop)}]{{1,32}})", p)
    if m:
        return "", m.group(1), m.end()
    return None


class ChardevSpecError(OptionError):
    """qemu_chr_parse_compat() failed; ``printed`` is what it printed (may be empty).

    QEMU's callers add their own line after it (``parse error: SPEC`` for
    -qmp/-monitor), so this is rarely reported on its own; ``message`` is the
    last printed line, or "" when QEMU printed nothing.
    """

    def __init__(self, printed: list[Diagnostic]) -> None:
        super().__init__(printed[-1].message if printed else "", preceding=printed[:-1])
        if printed:
            self.hint = printed[-1].hint
        self.printed = printed


def qemu_chr_parse_compat(
    label: str,
    filename: str,
    lists: Mapping[str, QemuOptsList],
    *,
    permit_mux_mon: bool = True,
) -> QemuOpts:
    """qemu_chr_parse_compat(): a legacy chardev spec into a ``chardev`` QemuOpts.

    ``unix:PATH,server=on,wait=off``, ``tcp:HOST:PORT,...``, ``stdio``,
    ``mon:stdio``, ``file:PATH`` ... ``lists`` is the run's QemuOptsLists
    (``new_opts_lists()``).  On failure it raises ChardevSpecError holding the
    lines QEMU printed; the caller adds its own (monitor_parse's "parse
    error: SPEC").  Note that key=value items after ``unix:`` and ``tcp:``
    go through qemu_opts_do_parse(), which gives no deprecation warning for
    short-form booleans (``server,nowait`` is silent).
    """
    chardev = lists["chardev"]
    syntax = chardev.syntax
    try:
        opts = chardev.create(label, True)
    except OptionError as err:
        raise ChardevSpecError([err.diagnostic()]) from None

    def fail(*printed: Diagnostic) -> ChardevSpecError:
        opts.delete()
        return ChardevSpecError(list(printed))

    p = filename
    if filename.startswith("mon:"):
        if not permit_mux_mon:
            raise fail(Diagnostic("mon: isn't supported in this context"))
        filename = filename[4:]
        opts.set("mux", "on")
        if filename == "stdio":
            opts.set("signal", "off")
    if filename in ("null", "pty", "msmouse", "wctablet", "braille", "testdev", "stdio"):
        opts.set("backend", filename)
        return opts
    if filename.startswith("vc"):
        opts.set("backend", "vc")
        p = filename[2:]
        if p.startswith(":"):
            m = re.match(r"([0-9]{1,7})x([0-9]{1,7})", p[1:])
            m2 = re.match(r"([0-9]{1,7})Cx([0-9]{1,7})C", p[1:])
            if m:
                opts.set("width", m.group(1))
                opts.set("height", m.group(2))
            elif m2:
                opts.set("cols", m2.group(1))
                opts.set("rows", m2.group(2))
            else:
                raise fail()
        return opts
    if filename == "con:":
        opts.set("backend", "console")
        return opts
    if filename.startswith("COM"):
        opts.set("backend", "serial")
        opts.set("path", filename)
        return opts
    prefixed: tuple[tuple[str, str], ...] = (("file:", "file"), ("pipe:", "pipe"))
    if syntax is None or syntax.chardev_pty_path:
        prefixed += (("pty:", "pty"),)
    for prefix, backend in prefixed:
        if filename.startswith(prefix):
            opts.set("backend", backend)
            opts.set("path", filename[len(prefix) :])
            return opts
    for prefix in ("tcp:", "telnet:", "tn3270:", "websocket:"):
        if filename.startswith(prefix):
            p = filename[len(prefix) :]
            scanned = _scan_host_port(p, ",")
            if scanned is None:
                raise fail()
            host, port, pos = scanned
            opts.set("backend", "socket")
            opts.set("host", host)
            opts.set("port", port)
            if _at(p, pos) == ",":
                try:
                    opts.do_parse(p[pos + 1 :], None)
                except OptionError as err:
                    raise fail(err.diagnostic()) from None
            if prefix != "tcp:":
                opts.set(prefix[:-1], "on")
            return opts
    if filename.startswith("udp:"):
        opts.set("backend", "udp")
        p = filename[4:]
        scanned = _scan_host_port(p, "@,")
        if scanned is None:
            raise fail()
        host, port, pos = scanned
        opts.set("host", host)
        opts.set("port", port)
        if _at(p, pos) == "@":
            p = p[pos + 1 :]
            scanned = _scan_host_port(p, ",")
            if scanned is None:
                raise fail()
            opts.set("localaddr", scanned[0])
            opts.set("localport", scanned[1])
        return opts
    if filename.startswith("unix:"):
        opts.set("backend", "socket")
        try:
            opts.do_parse(filename[5:], "path")
        except OptionError as err:
            raise fail(err.diagnostic()) from None
        return opts
    if filename.startswith(("/dev/parport", "/dev/ppi")):
        opts.set("backend", "parallel")
        opts.set("path", filename)
        return opts
    if filename.startswith("/dev/"):
        opts.set("backend", "serial")
        opts.set("path", filename)
        return opts
    raise fail(Diagnostic(f"'{filename}' is not a valid char driver"))


def _c_label(text: str) -> str:
    """snprintf(label, 32, "%s", text): at most 31 bytes."""
    return os.fsdecode(os.fsencode(text)[:31])


def monitor_parse(
    optarg: str,
    lists: Mapping[str, QemuOptsList],
    *,
    mode: Literal["readline", "control"] = "control",
    pretty: bool = False,
    device_index: int = 0,
) -> QemuOpts:
    """vl.c monitor_parse() for ``-qmp``/``-qmp-pretty``/``-monitor``: the ``mon`` QemuOpts.

    ``chardev:ID`` names an existing chardev; anything else is a legacy
    chardev spec, created as chardev ``compat_monitorN`` (N =
    ``device_index``, which the caller increments after each success, as
    QEMU's static counter).  Errors are QEMU's: the spec's own error line(s)
    then "parse error: SPEC".
    """
    if optarg.startswith("chardev:"):
        label = _c_label(optarg[len("chardev:") :])
    else:
        label = _c_label(f"compat_monitor{device_index}")
        try:
            qemu_chr_parse_compat(label, optarg, lists, permit_mux_mon=True)
        except ChardevSpecError as err:
            raise OptionError(f"parse error: {optarg}", preceding=err.printed) from None
    mon = lists["mon"].create(label, True)
    mon.set("mode", mode)
    mon.set("chardev", label)
    if mode == "control":
        mon.set_bool("pretty", pretty)
    return mon


__all__ = [
    "ChardevSpecError",
    "Diagnostic",
    "HelpRequested",
    "JSONValue",
    "KeyvalResult",
    "KeyvalValue",
    "NumberContext",
    "OptDesc",
    "OptType",
    "OptionError",
    "QemuOpt",
    "QemuOpts",
    "QemuOptsList",
    "SizeContext",
    "SizeError",
    "cmdline_location",
    "escape_opt_value",
    "format_diagnostic",
    "format_error",
    "get_opt_value",
    "has_help_option",
    "id_wellformed",
    "is_help_option",
    "keyval_merge",
    "keyval_parse",
    "monitor_parse",
    "new_opts_lists",
    "parse_bool",
    "parse_int",
    "parse_keyval_or_json",
    "parse_qapi_name",
    "parse_size",
    "parse_uint",
    "qemu_chr_parse_compat",
    "qemu_strtoi64",
    "qemu_strtosz",
    "qemu_strtosz_of",
    "qemu_strtou64",
    "qobject_from_json",
]
