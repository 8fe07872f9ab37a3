"""QEMU's JSON output: the exact bytes the QMP monitor writes for a response.

This module owns the step from a Python value to bytes on the wire, as done
by ``qobject/json-writer.c`` and ``qobject/qjson.c`` (to_json) under
``qmp_send_response()`` in ``monitor/qmp.c``: compact form with ``", "`` and
``": "`` separators, then ``"\\n"``, which the monitor's ``monitor_puts()``
turns into ``"\\r\\n"``.  QEMU 7.2 and 10.0 are identical here.

Mapping (the Python value stands for the QObject QEMU would hold):

* dict -> QDict.  The dict's insertion order is the QDict's insertion order;
  the output order is QEMU's hash-table order (``qdict.c``: 512 buckets by
  ``tdb_hash``, each bucket a list that new keys are prepended to).
* list/tuple -> QList; str -> QString; bool -> QBool; None -> QNull.
* int -> QNUM_I64/QNUM_U64 (``%"PRId64"``/``%"PRIu64"``); outside
  [-2**63, 2**64-1] it is not representable and raises ValueError.
* float -> QNUM_DOUBLE, printed with ``%.17g`` (``inf``, ``-nan`` and all).

A str stands for the bytes of a QString: its UTF-8 encoding, except that
``"\\x00"`` stands for the modified-UTF-8 ``"\\xC0\\x80"`` (QEMU's ``\\u0000``)
and lone surrogates U+DC80..U+DCFF stand for the raw bytes 0x80..0xFF
(``surrogateescape``, as :mod:`memdevd.qmp.framing` produces for error texts
that quote invalid input).  Other lone surrogates are taken as their
3-byte encoding.  Those bytes are then escaped as ``quoted_str()`` does,
including ``\\uFFFD`` for anything that is not valid modified UTF-8 or is a
noncharacter.  Encoding a str never raises.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Final

from memdevd.qapi.qdict import ORDER_CACHE, order_or_none, qstring_bytes

__all__ = [
    "encode",
    "encode_reference",
    "format_double",
    "quote_string",
    "to_json",
    "to_json_reference",
]

_INT64_MIN: Final = -(1 << 63)
_UINT64_MAX: Final = (1 << 64) - 1
_EOL: Final = b"\r\n"


# --- Scalars -------------------------------------------------------------
def format_double(x: float) -> str:
    """``printf("%.17g")`` as glibc prints it (json_writer_double())."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return f"{x:.17g}"


def _format_int(x: int) -> str:
    if not _INT64_MIN <= x <= _UINT64_MAX:
        raise ValueError(f"integer {x} does not fit a QNum (int64 or uint64)")
    return int.__repr__(x)


def _mod_utf8_codepoint(s: bytes, i: int) -> tuple[int, int]:
    """util/unicode.c mod_utf8_codepoint() at ``s[i]``: (codepoint or -1, end)."""
    n = len(s)
    byte = s[i]
    p = i + 1
    if byte < 0x80:
        return byte, p
    if byte >= 0xFE or not byte & 0x40:
        return -1, p
    length = 0
    mask = 0x80
    while byte & mask:
        length += 1
        mask >>= 1
    cp = byte & (mask - 1)
    for _ in range(1, length):
        # Past the end reads the terminating NUL, which is no continuation.
        nxt = s[p] if p < n else 0
        if nxt & 0xC0 != 0x80:
            return -1, p
        p += 1
        cp = (cp << 6) | (nxt & 0x3F)
    min_cp = (0x80, 0x800, 0x10000, 0x200000, 0x4000000)[length - 2]
    if (
        cp > 0x10FFFF
        or 0xFDD0 <= cp <= 0xFDEF
        or (cp & 0xFFFE) == 0xFFFE
        or 0xD800 <= cp <= 0xDFFF
        or (cp < min_cp and not (cp == 0 and length == 2))
    ):
        return -1, p
    return cp, p


_ESCAPES: Final = {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


def _quote_reference(s: str) -> str:
    """json-writer.c quoted_str(), on the QString bytes of ``s``."""
    raw = qstring_bytes(s)
    out = ['"']
    i = 0
    n = len(raw)
    while i < n:
        cp, i = _mod_utf8_codepoint(raw, i)
        esc = _ESCAPES.get(cp)
        if esc is not None:
            out.append(esc)
            continue
        if cp < 0:
            cp = 0xFFFD
        if cp > 0xFFFF:
            high = 0xD800 + ((cp - 0x10000) >> 10)
            low = 0xDC00 + ((cp - 0x10000) & 0x3FF)
            out.append(f"\\u{high:04X}\\u{low:04X}")
        elif cp < 0x20 or cp >= 0x7F:
            out.append(f"\\u{cp:04X}")
        else:
            out.append(chr(cp))
    out.append('"')
    return "".join(out)


# Python's ensure_ascii output differs from quoted_str() only inside \u
# escapes: lowercase hex, and noncharacters that QEMU replaces with U+FFFD.
# An escaped backslash is matched first so that a literal "\u" in the text
# is left alone.  Only used on strings without lone surrogates, so a
# surrogate pair here is always a genuine astral character.
_U_ESCAPE: Final = re.compile(
    r"\\\\|\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})"
)
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _fix_u_escape(m: re.Match[str]) -> str:
    high, low, single = m.groups()
    if single is not None:
        cp = int(single, 16)
        if 0xFDD0 <= cp <= 0xFDEF or cp >= 0xFFFE:
            return "\\uFFFD"
        return "\\u" + single.upper()
    if high is not None:
        cp = 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)
        if (cp & 0xFFFE) == 0xFFFE:
            return "\\uFFFD"
        return "\\u" + high.upper() + "\\u" + low.upper()
    return m.group(0)


def quote_string(s: str) -> str:
    """``s`` as a JSON string exactly as QEMU's quoted_str() writes it."""
    r: str = encode_basestring_ascii(s)
    if "\\u" not in r:
        return r
    if _SURROGATE.search(s):
        return _quote_reference(s)
    return _U_ESCAPE.sub(_fix_u_escape, r)


# --- Writers -------------------------------------------------------------
class JSONText(str):
    """A value's JSON text, already encoded (by :func:`to_json`).

    A handler may return one to reuse the encoding of an unchanged, large
    value; the encoder writes it as it is.
    """

    __slots__ = ()


def _write(obj: object, q: Callable[[str], str], out: list[str]) -> None:
    if type(obj) is JSONText:
        out.append(obj)
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(q(obj))
    elif isinstance(obj, int):
        out.append(_format_int(obj))
    elif isinstance(obj, float):
        out.append(format_double(obj))
    elif isinstance(obj, dict):
        keys = tuple(obj)
        order = order_or_none(keys)
        if order is None:
            order = keys
        out.append("{")
        first = True
        for k in order:
            if not first:
                out.append(", ")
            first = False
            out.append(q(k))
            out.append(": ")
            _write(obj[k], q, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        first = True
        for v in obj:
            if not first:
                out.append(", ")
            first = False
            _write(v, q, out)
        out.append("]")
    else:
        raise TypeError(f"{type(obj).__name__} has no QObject equivalent")


def to_json_reference(obj: object) -> str:
    """The straightforward transcription of qobject_to_json(); slow."""
    out: list[str] = []
    _write(obj, _quote_reference, out)
    return "".join(out)


def encode_reference(obj: object) -> bytes:
    """:func:`encode` by :func:`to_json_reference`; for tests."""
    return to_json_reference(obj).encode("ascii") + _EOL


class _Slow(Exception):
    """The json-module path cannot represent this value exactly."""


def _prepare(obj: object) -> object:
    # Rebuild dicts in QEMU's output order so that json's C encoder can write
    # them as they come; anything json would print differently (floats,
    # types it would coerce) sends the whole value to the Python writer.
    # Scalars are checked inline: this runs for every response.
    t = type(obj)
    if t is dict:
        assert isinstance(obj, dict)
        keys = tuple(obj)
        try:
            order = ORDER_CACHE[keys]
        except KeyError:
            order = order_or_none(keys)
        if order is None:
            for v in obj.values():
                tv = type(v)
                if tv is str or tv is bool or v is None:
                    continue
                if tv is int and _INT64_MIN <= v <= _UINT64_MAX:
                    continue
                break
            else:
                return obj
            order = keys
        out = {}
        for k in order:
            v = obj[k]
            tv = type(v)
            if tv is str or tv is bool or v is None:
                out[k] = v
            else:
                out[k] = _prepare(v)
        return out
    if t is str or t is bool or obj is None:
        return obj
    if t is int:
        assert isinstance(obj, int)
        if _INT64_MIN <= obj <= _UINT64_MAX:
            return obj
        raise ValueError(f"integer {obj} does not fit a QNum (int64 or uint64)")
    if t is list or t is tuple:
        assert isinstance(obj, list | tuple)
        return [_prepare(v) for v in obj]
    raise _Slow


def _reject(obj: object) -> object:
    raise _Slow


def _make_json_writer() -> Callable[[object], str]:
    if c_make_encoder is not None:
        # json.JSONEncoder.encode() builds this object on every call.
        c_encoder = c_make_encoder(
            None, _reject, encode_basestring_ascii, None, ": ", ", ", False, False, False
        )

        def write(obj: object) -> str:
            return "".join(c_encoder(obj, 0))

        return write
    return json.JSONEncoder(ensure_ascii=True, check_circular=False, allow_nan=False).encode


_json_write: Final = _make_json_writer()


# A long list is written a slice at a time: json's encoder holds every
# fragment of its output until it joins them (for query-memory-devices
# with 256 DIMMs, ~370 KiB for 44 KB of text), and the process keeps that
# high-water mark as RSS.  By slices of 32 it is ~130 KiB, ~4% slower.
_SLICE: Final = 32


def to_json(obj: object) -> str:
    """qobject_to_json() of the QObject ``obj`` stands for (no newline)."""
    if type(obj) is list and len(obj) > _SLICE:
        assert isinstance(obj, list)
        # QEMU's list separator is ", ", as between the slices' elements.
        slices = (_to_json(obj[i : i + _SLICE])[1:-1] for i in range(0, len(obj), _SLICE))
        return "[" + ", ".join(slices) + "]"
    return _to_json(obj)


def _to_json(obj: object) -> str:
    try:
        prepared = _prepare(obj)
    except _Slow:
        out: list[str] = []
        _write(obj, quote_string, out)
        return "".join(out)
    text = _json_write(prepared)
    if "\\u" in text:
        if "\\ud" in text:
            # Astral characters and lone surrogates look alike in json's
            # output; the per-string path tells them apart.
            out = []
            _write(obj, quote_string, out)
            return "".join(out)
        text = _U_ESCAPE.sub(_fix_u_escape, text)
    return text


# {"return": <encoded value>} replies without an id, by value: a query
# whose answer did not change (query-version, a polled device list) is
# written from here.  Small: only the latest few are kept.
_RETURN_ONLY: dict[str, bytes] = {}


# The reply of every command that returns nothing (object-add, device_add,
# qom-set...).
_EMPTY_RETURN: Final = b'{"return": {}}' + _EOL


def encode(obj: object) -> bytes:
    """The bytes QEMU's monitor writes for the response ``obj``, with "\\r\\n"."""
    if type(obj) is dict and len(obj) == 1:
        ret = obj.get("return")
        if type(ret) is dict and not ret:
            return _EMPTY_RETURN
        if type(ret) is JSONText:
            data = _RETURN_ONLY.get(ret)
            if data is None:
                if len(_RETURN_ONLY) >= 8:
                    _RETURN_ONLY.clear()
                data = _RETURN_ONLY[ret] = to_json(obj).encode("ascii") + _EOL
            return data
    return to_json(obj).encode("ascii") + _EOL
