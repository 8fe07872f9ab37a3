"""QEMU's streaming JSON reader: lexer, streamer and parser, byte for byte.

This module owns the step from raw bytes on a QMP connection to the sequence
of requests and errors QEMU's monitor would see.  It reproduces
``qobject/json-lexer.c``, ``json-streamer.c`` and ``json-parser.c`` (identical
in QEMU 7.2 and 10.0 apart from include paths) as set up by the monitor, i.e.
``json_message_parser_init(..., NULL)``: no interpolation, so ``%`` is a
stray character, and the monitor never calls ``json_message_parser_flush()``,
so an unfinished message just waits.

Two engines give the same results:

* the exact engine, a transcription of QEMU's state machines (with runs of
  bytes that leave the lexer state unchanged consumed in bulk);
* a fast path used only when the exact engine is in its initial state: it
  lets :mod:`json` decode one complete top-level object or array and accepts
  the result only when every difference between Python's and QEMU's JSON
  cannot matter (see :meth:`JSONStreamer._try_fast`); anything else is left to
  the exact engine.  A request that is alone on its line, ASCII, without
  escapes or fractions, as the common request is, is tried first with a
  decoder that declines, rather than checks after the fact, what QEMU
  would parse otherwise (:meth:`JSONStreamer._try_line`).

Values come out as dict (input order), list, str, bool, None, int (anything
that fits int64 or uint64, as QNUM_I64/QNUM_U64) and float (QNUM_DOUBLE,
including integer literals beyond uint64).  ``\\u0000`` and the overlong
``\\xC0\\x80`` that QEMU stores as modified UTF-8 come out as ``"\\x00"``.

Errors come out as :class:`JSONError` whose ``desc`` is QEMU's text.  A
"stray" error quotes the offending input, which may be any bytes: those that
are not UTF-8 are kept as lone surrogates (``surrogateescape``), which
:mod:`memdevd.qapi.json_writer` turns back into the bytes QEMU would write out.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Final

from memdevd import messages as M
from memdevd.records import record


def _no_constant(name: str) -> object:
    # NaN, Infinity, -Infinity: QEMU's lexer has no such tokens.
    raise ValueError(name)


def _no_float(text: str) -> object:
    # A fraction or an exponent: its rounding is left to the json tier.
    raise ValueError(text)


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # A duplicate key: QEMU's error comes from the other tiers.
        raise ValueError("duplicate key")
    return obj


# The line tier's decoder: json's C scanner, declining (ValueError) what
# QEMU would parse otherwise.
_LINE_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique_pairs, parse_float=_no_float, parse_constant=_no_constant
)
# False: the json tier alone (a test turning the line tier off).
_line_tier = True

__all__ = [
    "JSON_DUPLICATE_KEY",
    "JSON_EXPECTED_DICT_SEPARATOR",
    "JSON_EXPECTED_LIST_SEPARATOR",
    "JSON_EXPECTING_VALUE",
    "JSON_INVALID_ESCAPE",
    "JSON_INVALID_KEYWORD",
    "JSON_INVALID_UNICODE",
    "JSON_INVALID_UTF8",
    "JSON_KEY_NOT_STRING",
    "JSON_MISSING_COLON",
    "JSON_MISSING_VALUE",
    "JSON_NESTING_LIMIT",
    "JSON_PARSE_ERROR",
    "JSON_PREMATURE_EOI",
    "JSON_STRAY",
    "JSON_TOKEN_COUNT_LIMIT",
    "JSON_TOKEN_SIZE_LIMIT",
    "MAX_NESTING",
    "MAX_TOKEN_COUNT",
    "MAX_TOKEN_SIZE",
    "JSONError",
    "JSONStreamer",
]

# --- Error texts ----------------------------------------------------------
# json-streamer.c (error_setg, no length limit)
JSON_STRAY: Final = "JSON parse error, stray '{}'"
JSON_TOKEN_SIZE_LIMIT: Final = "JSON token size limit exceeded"
JSON_TOKEN_COUNT_LIMIT: Final = "JSON token count limit exceeded"
JSON_NESTING_LIMIT: Final = "JSON nesting depth limit exceeded"

# json-parser.c parse_error(): "JSON parse error, %s" where the message part
# was formatted into a 1024-byte buffer, so it is cut to 1023 bytes.
JSON_PARSE_ERROR: Final = "JSON parse error, {}"
JSON_PARSE_MESSAGE_MAX: Final = 1023
JSON_PREMATURE_EOI: Final = "JSON parse error, premature EOI"
JSON_EXPECTING_VALUE: Final = "JSON parse error, expecting value"
JSON_KEY_NOT_STRING: Final = "JSON parse error, key is not a string in object"
JSON_MISSING_COLON: Final = "JSON parse error, missing : in object pair"
# Unreachable in QEMU (parse_value() has always set an error already), kept
# so the set of texts is complete.
JSON_MISSING_VALUE: Final = "JSON parse error, Missing value in dict"
JSON_DUPLICATE_KEY: Final = "JSON parse error, duplicate key"
JSON_EXPECTED_DICT_SEPARATOR: Final = "JSON parse error, expected separator in dict"
JSON_EXPECTED_LIST_SEPARATOR: Final = "JSON parse error, expected separator in list"
JSON_INVALID_ESCAPE: Final = "JSON parse error, invalid escape sequence in string"
JSON_INVALID_UTF8: Final = "JSON parse error, invalid UTF-8 sequence in string"
# Message parts that quote input, subject to the 1023-byte cut.
JSON_INVALID_KEYWORD: Final = "invalid keyword '{}'"
JSON_INVALID_UNICODE: Final = "{} is not a valid Unicode character"

# json-lexer.c / json-streamer.c limits
MAX_TOKEN_SIZE: Final = 64 << 20
MAX_TOKEN_COUNT: Final = 2 << 20
MAX_NESTING: Final = 1 << 10


@record(frozen=True, slots=True)
class JSONError:
    """An error the monitor turns into ``{"error": {"class": "GenericError", ...}}``."""

    desc: str


# --- Lexer tables (json-lexer.c) -----------------------------------------
# Lexer states.  0 is JSON_ERROR, as in QEMU, so that a missing table entry
# means "error".
JSON_ERROR: Final = 0
IN_RECOVERY: Final = 1
IN_DQ_STRING_ESCAPE: Final = 2
IN_DQ_STRING: Final = 3
IN_SQ_STRING_ESCAPE: Final = 4
IN_SQ_STRING: Final = 5
IN_ZERO: Final = 6
IN_EXP_DIGITS: Final = 7
IN_EXP_SIGN: Final = 8
IN_EXP_E: Final = 9
IN_MANTISSA: Final = 10
IN_MANTISSA_DIGITS: Final = 11
IN_DIGITS: Final = 12
IN_SIGN: Final = 13
IN_KEYWORD: Final = 14
IN_START: Final = 15
_N_STATES: Final = 16

# Token types (json-parser-int.h); all >= JSON_MIN.
JSON_LCURLY: Final = 100
JSON_RCURLY: Final = 101
JSON_LSQUARE: Final = 102
JSON_RSQUARE: Final = 103
JSON_COLON: Final = 104
JSON_COMMA: Final = 105
JSON_INTEGER: Final = 106
JSON_FLOAT: Final = 107
JSON_KEYWORD: Final = 108
JSON_STRING: Final = 109
JSON_END_OF_INPUT: Final = 111
JSON_MIN: Final = JSON_LCURLY

# A table entry with this bit set does not consume the character.
_LOOKAHEAD: Final = 0x100


def _build_table() -> tuple[tuple[int, ...], ...]:
    t = [[JSON_ERROR] * 256 for _ in range(_N_STATES)]

    def fill(state: int, chars: bytes | range, value: int) -> None:
        for c in chars:
            t[state][c] = value

    def terminal(state: int, token: int) -> None:
        fill(state, range(256), token | _LOOKAHEAD)

    # Recovery: skip until a structural character, a control character other
    # than TAB, or one of the impossible UTF-8 bytes 0xFE/0xFF.
    fill(IN_RECOVERY, range(0x00, 0x20), IN_START | _LOOKAHEAD)
    fill(IN_RECOVERY, range(0x20, 0xFE), IN_RECOVERY)
    fill(IN_RECOVERY, range(0xFE, 0x100), IN_START | _LOOKAHEAD)
    fill(IN_RECOVERY, b"\t", IN_RECOVERY)
    fill(IN_RECOVERY, b"[]{}:,", IN_START | _LOOKAHEAD)

    fill(IN_DQ_STRING_ESCAPE, range(0x20, 0xFE), IN_DQ_STRING)
    fill(IN_DQ_STRING, range(0x20, 0xFE), IN_DQ_STRING)
    fill(IN_DQ_STRING, b"\\", IN_DQ_STRING_ESCAPE)
    fill(IN_DQ_STRING, b'"', JSON_STRING)
    fill(IN_SQ_STRING_ESCAPE, range(0x20, 0xFE), IN_SQ_STRING)
    fill(IN_SQ_STRING, range(0x20, 0xFE), IN_SQ_STRING)
    fill(IN_SQ_STRING, b"\\", IN_SQ_STRING_ESCAPE)
    fill(IN_SQ_STRING, b"'", JSON_STRING)

    terminal(IN_ZERO, JSON_INTEGER)
    fill(IN_ZERO, b"0123456789", JSON_ERROR)
    fill(IN_ZERO, b".", IN_MANTISSA)

    terminal(IN_EXP_DIGITS, JSON_FLOAT)
    fill(IN_EXP_DIGITS, b"0123456789", IN_EXP_DIGITS)
    fill(IN_EXP_SIGN, b"0123456789", IN_EXP_DIGITS)
    fill(IN_EXP_E, b"-+", IN_EXP_SIGN)
    fill(IN_EXP_E, b"0123456789", IN_EXP_DIGITS)
    terminal(IN_MANTISSA_DIGITS, JSON_FLOAT)
    fill(IN_MANTISSA_DIGITS, b"0123456789", IN_MANTISSA_DIGITS)
    fill(IN_MANTISSA_DIGITS, b"eE", IN_EXP_E)
    fill(IN_MANTISSA, b"0123456789", IN_MANTISSA_DIGITS)

    terminal(IN_DIGITS, JSON_INTEGER)
    fill(IN_DIGITS, b"0123456789", IN_DIGITS)
    fill(IN_DIGITS, b"eE", IN_EXP_E)
    fill(IN_DIGITS, b".", IN_MANTISSA)
    fill(IN_SIGN, b"0", IN_ZERO)
    fill(IN_SIGN, b"123456789", IN_DIGITS)

    terminal(IN_KEYWORD, JSON_KEYWORD)
    fill(IN_KEYWORD, range(ord("a"), ord("z") + 1), IN_KEYWORD)

    s = IN_START
    fill(s, b'"', IN_DQ_STRING)
    fill(s, b"'", IN_SQ_STRING)
    fill(s, b"0", IN_ZERO)
    fill(s, b"123456789", IN_DIGITS)
    fill(s, b"-", IN_SIGN)
    fill(s, b"{", JSON_LCURLY)
    fill(s, b"}", JSON_RCURLY)
    fill(s, b"[", JSON_LSQUARE)
    fill(s, b"]", JSON_RSQUARE)
    fill(s, b",", JSON_COMMA)
    fill(s, b":", JSON_COLON)
    fill(s, range(ord("a"), ord("z") + 1), IN_KEYWORD)
    fill(s, b" \t\r\n", IN_START)
    return tuple(tuple(row) for row in t)


@cache
def _table() -> tuple[tuple[int, ...], ...]:
    # Built when the exact engine first runs: most connections never need it.
    return _build_table()


def _build_runs() -> tuple[re.Pattern[bytes] | None, ...]:
    # For each state, the bytes that are consumed and lead back to the same
    # state.  A run of them changes nothing but the token text, so the exact
    # engine can take it in one step.
    runs: list[re.Pattern[bytes] | None] = []
    for state in range(_N_STATES):
        loop = bytes(c for c in range(256) if _table()[state][c] == state)
        if loop:
            cls = b"".join(b"\\x%02x" % c for c in loop)
            runs.append(re.compile(b"[" + cls + b"]+"))
        else:
            runs.append(None)
    return tuple(runs)


_runs: Final = cache(_build_runs)

# --- Parser helpers (json-parser.c, util/unicode.c) ----------------------
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
_UINT64_MAX: Final = (1 << 64) - 1
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPES: Final = {
    ord('"'): '"',
    ord("'"): "'",
    ord("\\"): "\\",
    ord("/"): "/",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}
# Unicode's 66 noncharacters, which QEMU's is_valid_codepoint() rejects.
_NONCHAR: Final = re.compile(
    "[\ufdd0-\ufdef"
    + "".join(chr(p << 16 | 0xFFFE) + chr(p << 16 | 0xFFFF) for p in range(17))
    + "]"
)


class _ParseError(Exception):
    """Carries a finished error text out of the recursive-descent parser."""

    def __init__(self, desc: str) -> None:
        super().__init__(desc)
        self.desc = desc


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _parse_error(message: bytes) -> _ParseError:
    return _ParseError(M.JSON_PARSE_ERROR.format(_text(message[:JSON_PARSE_MESSAGE_MAX])))


def _valid_codepoint(cp: int) -> bool:
    if cp < 0 or cp > 0x10FFFF:
        return False
    if 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE:
        return False
    return not 0xD800 <= cp <= 0xDFFF


def _decode_raw(raw: bytes) -> str:
    """Decode unescaped string bytes as QEMU's mod_utf8_codepoint() would."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Modified UTF-8 allows the overlong "\xC0\x80" for U+0000.  0xC0 can
        # only ever start a sequence, so splitting there cannot turn an
        # invalid sequence into a valid one.
        if b"\xc0\x80" not in raw:
            raise _ParseError(JSON_INVALID_UTF8) from None
        try:
            text = "\x00".join(part.decode("utf-8") for part in raw.split(b"\xc0\x80"))
        except UnicodeDecodeError:
            raise _ParseError(JSON_INVALID_UTF8) from None
    if _NONCHAR.search(text):
        raise _ParseError(JSON_INVALID_UTF8)
    return text


def _cvt4hex(raw: bytes) -> int:
    if len(raw) < 4 or not all(c in _HEX for c in raw[:4]):
        return -1
    return int(raw[:4], 16)


def _parse_string(token: bytes) -> str:
    quote = token[0]
    body = token[1:-1]
    if b"\\" not in body:
        return body.decode("ascii") if body.isascii() else _decode_raw(body)
    parts: list[str] = []
    pos = 0
    n = len(body)
    while pos < n:
        esc = body.find(b"\\", pos)
        if esc < 0:
            parts.append(_decode_raw(body[pos:]))
            break
        if esc > pos:
            parts.append(_decode_raw(body[pos:esc]))
        # The lexer guarantees a character after every backslash.
        c = body[esc + 1]
        simple = _SIMPLE_ESCAPES.get(c)
        if simple is not None:
            parts.append(simple)
            pos = esc + 2
            continue
        if c != ord("u"):
            raise _ParseError(JSON_INVALID_ESCAPE)
        # cvt4hex() reads on into the closing quote and the terminating NUL;
        # both stop it, as does anything else that is not a hex digit.
        cp = _cvt4hex(body[esc + 2 : esc + 6])
        end = esc + 6
        if 0xD800 <= cp <= 0xDBFF and body[end : end + 2] == b"\\u":
            trailing = _cvt4hex(body[end + 2 : end + 6])
            if 0xDC00 <= trailing <= 0xDFFF:
                cp = 0x10000 + ((cp & 0x3FF) << 10) | (trailing & 0x3FF)
                end += 6
            else:
                cp = -1
        if not _valid_codepoint(cp):
            # "%.*s" of the escape as consumed, cut at the token's end.
            shown = (body + bytes((quote,)))[esc:end]
            raise _parse_error(JSON_INVALID_UNICODE.format("%s").encode() % shown)
        parts.append(chr(cp))
        pos = end
    return "".join(parts)


def _parse_number(token: bytes, ttype: int) -> int | float:
    if ttype == JSON_INTEGER and len(token) <= 20:
        # Long tokens cannot fit 64 bits; they also trip int()'s digit limit.
        value = int(token)
        if _INT64_MIN <= value <= _UINT64_MAX:
            return value
    return float(token)


def _parse_keyword(token: bytes) -> bool | None:
    if token == b"true":
        return True
    if token == b"false":
        return False
    if token == b"null":
        return None
    raise _parse_error(b"invalid keyword '%s'" % token)


# Parser frames for the explicit stack (nesting may exceed Python's
# recursion limit).  An object frame is waiting for either a key or a value.
_IN_ARRAY: Final = 0
_IN_OBJECT_KEY: Final = 1
_IN_OBJECT_VALUE: Final = 2


def _parse(tokens: list[tuple[int, bytes]]) -> object:
    """json_parser_parse(): one value from a complete token list.

    Follows the recursive descent of json-parser.c step for step, so that the
    first error reached is the one QEMU reports.
    """
    n = len(tokens)
    i = 0
    # Each frame: [kind, container, pending key]
    stack: list[list[object]] = []
    while True:
        # parse_value()
        if i >= n:
            raise _ParseError(JSON_PREMATURE_EOI)
        ttype, text = tokens[i]
        value: object
        if ttype == JSON_LCURLY:
            i += 1
            if i >= n:
                raise _ParseError(JSON_PREMATURE_EOI)
            if tokens[i][0] != JSON_RCURLY:
                stack.append([_IN_OBJECT_KEY, {}, None])
                continue
            i += 1
            value = {}
        elif ttype == JSON_LSQUARE:
            i += 1
            if i >= n:
                raise _ParseError(JSON_PREMATURE_EOI)
            if tokens[i][0] != JSON_RSQUARE:
                stack.append([_IN_ARRAY, [], None])
                continue
            i += 1
            value = []
        elif ttype == JSON_STRING:
            i += 1
            value = _parse_string(text)
        elif ttype in (JSON_INTEGER, JSON_FLOAT):
            i += 1
            value = _parse_number(text, ttype)
        elif ttype == JSON_KEYWORD:
            i += 1
            value = _parse_keyword(text)
        else:
            raise _ParseError(JSON_EXPECTING_VALUE)

        # Hand the finished value to the enclosing containers.
        while True:
            if not stack:
                return value
            frame = stack[-1]
            kind = frame[0]
            if kind == _IN_OBJECT_KEY:
                if not isinstance(value, str):
                    raise _ParseError(JSON_KEY_NOT_STRING)
                if i >= n:
                    raise _ParseError(JSON_PREMATURE_EOI)
                i += 1
                if tokens[i - 1][0] != JSON_COLON:
                    raise _ParseError(JSON_MISSING_COLON)
                frame[0] = _IN_OBJECT_VALUE
                frame[2] = value
                break
            if kind == _IN_OBJECT_VALUE:
                obj = frame[1]
                assert isinstance(obj, dict)
                key = frame[2]
                if key in obj:
                    raise _ParseError(JSON_DUPLICATE_KEY)
                obj[key] = value
                if i >= n:
                    raise _ParseError(JSON_PREMATURE_EOI)
                i += 1
                sep = tokens[i - 1][0]
                if sep == JSON_RCURLY:
                    stack.pop()
                    value = obj
                    continue
                if sep != JSON_COMMA:
                    raise _ParseError(JSON_EXPECTED_DICT_SEPARATOR)
                if i >= n:
                    raise _ParseError(JSON_PREMATURE_EOI)
                frame[0] = _IN_OBJECT_KEY
                break
            lst = frame[1]
            assert isinstance(lst, list)
            lst.append(value)
            if i >= n:
                raise _ParseError(JSON_PREMATURE_EOI)
            i += 1
            sep = tokens[i - 1][0]
            if sep == JSON_RSQUARE:
                stack.pop()
                value = lst
                continue
            if sep != JSON_COMMA:
                raise _ParseError(JSON_EXPECTED_LIST_SEPARATOR)
            break


# --- 11.1's push parser (json-parser.c rewritten as a state machine) -----
_P_AFTER_LCURLY: Final = 0
_P_AFTER_LSQUARE: Final = 1
_P_BEFORE_KEY: Final = 2
_P_BEFORE_VALUE: Final = 3
_P_END_OF_KEY: Final = 4
_P_END_OF_VALUE: Final = 5
# json_parser_feed()'s "nothing complete yet".
_MORE: Final = object()


class _PushParser:
    """json_parser_feed(): one token at a time, a stack of open containers.

    Each stack entry is ``[partial, state]`` where ``partial`` is the open
    dict or list, or (on top of a dict) the key just read, as QEMU 11.1's
    JSONParserStackEntry.  Errors are raised as :class:`_ParseError` whose
    text the streamer prefixes with the token's line and column.
    """

    __slots__ = ("stack",)

    def __init__(self) -> None:
        self.stack: list[list[object]] = []

    def feed(self, ttype: int, text: bytes) -> object:
        stack = self.stack
        if ttype == JSON_END_OF_INPUT:
            if stack:
                raise _ParseError(M.JSON_PREMATURE_END_OF_INPUT)
            return _MORE
        if ttype == JSON_ERROR:
            # "%s" stops at the first NUL.
            stray = text.split(b"\x00", 1)[0]
            raise _parse_error(M.JSON_STRAY_PART.format("%s").encode() % stray)
        entry = stack[-1] if stack else None
        state = entry[1] if entry is not None else _P_BEFORE_VALUE
        value: object
        if state in (_P_AFTER_LCURLY, _P_BEFORE_KEY):
            assert entry is not None
            if state == _P_AFTER_LCURLY and ttype == JSON_RCURLY:
                value = stack.pop()[0]
            else:
                entry[1] = _P_BEFORE_KEY
                if ttype != JSON_STRING:
                    raise _ParseError(M.JSON_EXPECTING_KEY)
                stack.append([_parse_string(text), _P_END_OF_KEY])
                return _MORE
        elif state == _P_END_OF_KEY:
            assert entry is not None
            if ttype != JSON_COLON:
                raise _ParseError(M.JSON_EXPECTING_COLON)
            entry[1] = _P_BEFORE_VALUE
            return _MORE
        elif state == _P_AFTER_LSQUARE and ttype == JSON_RSQUARE:
            value = stack.pop()[0]
        elif state in (_P_AFTER_LSQUARE, _P_BEFORE_VALUE):
            if entry is not None:
                entry[1] = _P_BEFORE_VALUE
            if ttype == JSON_LCURLY:
                stack.append([{}, _P_AFTER_LCURLY])
                return _MORE
            if ttype == JSON_LSQUARE:
                stack.append([[], _P_AFTER_LSQUARE])
                return _MORE
            if ttype == JSON_STRING:
                value = _parse_string(text)
            elif ttype in (JSON_INTEGER, JSON_FLOAT):
                value = _parse_number(text, ttype)
            elif ttype == JSON_KEYWORD:
                value = _parse_keyword(text)
            else:
                raise _ParseError(JSON_EXPECTING_VALUE)
        else:  # _P_END_OF_VALUE
            assert entry is not None
            if isinstance(entry[0], list):
                if ttype != JSON_RSQUARE:
                    if ttype != JSON_COMMA:
                        raise _ParseError(M.JSON_EXPECTED_COMMA_OR_RSQUARE)
                    entry[1] = _P_BEFORE_VALUE
                    return _MORE
            elif ttype != JSON_RCURLY:
                if ttype != JSON_COMMA:
                    raise _ParseError(M.JSON_EXPECTED_COMMA_OR_RCURLY)
                entry[1] = _P_BEFORE_KEY
                return _MORE
            value = stack.pop()[0]

        # A value is complete: the result, or into the enclosing container.
        if not stack:
            return value
        entry = stack[-1]
        key = entry[0]
        if isinstance(key, str):
            stack.pop()
            entry = stack[-1]
            obj = entry[0]
            assert isinstance(obj, dict)
            if key in obj:
                raise _ParseError(JSON_DUPLICATE_KEY)
            obj[key] = value
        else:
            assert isinstance(key, list)
            key.append(value)
        entry[1] = _P_END_OF_VALUE
        return _MORE


# --- Fast path helpers ----------------------------------------------------
def _qemu_int(literal: str) -> int | float:
    return _parse_number(literal.encode("ascii"), JSON_INTEGER)


class _FastDecoders:
    """json decoders whose hooks note, rather than raise, what QEMU rejects.

    Raising from a hook would hide how far the input was valid; noting lets
    the caller decline just this value and carry on.
    """

    __slots__ = ("big_int", "plain", "rejected")

    def __init__(self) -> None:
        self.rejected = False

        def pairs_hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
            d = dict(pairs)
            if len(d) != len(pairs):
                self.rejected = True
            return d

        def constant_hook(name: str) -> object:
            # NaN, Infinity, -Infinity: QEMU's lexer has no such tokens.
            self.rejected = True
            return None

        self.plain = json.JSONDecoder(object_pairs_hook=pairs_hook, parse_constant=constant_hook)
        self.big_int = json.JSONDecoder(
            object_pairs_hook=pairs_hook, parse_constant=constant_hook, parse_int=_qemu_int
        )


_WS: Final = re.compile(rb"[ \t\r\n]*")
# An integer literal needs 19 digits to leave int64.  Mapping digits to "0"
# and finding 19 of them in a row is faster than a regex search.
_DIGITS_TO_ZERO: Final = bytes(0x30 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_LONG_DIGITS: Final = b"0" * 19
# The same, and what sends a request past the line tier as "X": a
# backslash, a line break before its end, a non-ASCII byte.  (One
# translation and two finds cost less than one regex search here.)
_LINE_SCAN: Final = bytes(
    0x30 if 0x30 <= c <= 0x39 else 0x58 if c in (0x5C, 0x0A) or c >= 0x80 else 0x20
    for c in range(256)
)
# \u escapes QEMU may reject: surrogates (even as valid pairs, which could
# encode a noncharacter) and BMP noncharacters.  False positives only cost
# speed.
_RISKY_U_ESCAPE: Final = re.compile(rb"\\u(?:[dD][89a-fA-F]|[fF][dD][dDeE]|[fF][fF][fF][eEfF])")


class JSONStreamer:
    """QEMU's JSONMessageParser as the QMP monitor runs it.

    ``feed`` takes bytes in any chunking and returns, in order, each parsed
    top-level value or :class:`JSONError` that QEMU would hand to
    ``handle_qmp_command()`` for those bytes.  ``fast=False`` disables the
    fast path (for differential testing; results are identical).
    """

    def __init__(
        self,
        *,
        max_token_size: int = MAX_TOKEN_SIZE,
        max_token_count: int = MAX_TOKEN_COUNT,
        max_nesting: int = MAX_NESTING,
        fast: bool = True,
        push: bool = False,
    ) -> None:
        self.max_token_size = max_token_size
        self.max_token_count = max_token_count
        self.max_nesting = max_nesting
        self.fast = fast
        # QEMU 11.1's push parser and its error recovery
        # (Release.json_push_parser): errors at once, located.
        self.push = push
        self._decoders = _FastDecoders()
        self.reset()

    def reset(self) -> None:
        """Forget everything, as the monitor does when a client disconnects."""
        # Lexer
        self._state = IN_START
        self._token = bytearray()
        # Streamer
        self._brace_count = 0
        self._bracket_count = 0
        self._tokens: list[tuple[int, bytes]] = []
        self._token_size = 0
        # The push parser's streamer (11.1): the token count, error
        # recovery, the parser's stack.
        self._token_count = 0
        self._error = False
        self._parser = _PushParser()
        # Positions, as absolute byte offsets in the connection's input.
        # _tok_pos is the lexer's (x, y): where the next token starts, set
        # whenever the lexer passes its start state (so it is one past the
        # character that ended recovery or a token taken by lookahead, as
        # in QEMU).  _at is the offset just past the character at hand.
        self._tok_pos = 0
        self._at = 0
        # The input before the current feed: its length, its line breaks
        # and where its last line starts; _tok_loc is _tok_pos as
        # (line, column) when it lies there.
        self._base = 0
        self._lines = 0
        self._line_start = 0
        self._data = b""
        self._tok_loc = (1, 1)

    def is_idle(self) -> bool:
        """True when no message is in progress (the initial state)."""
        return (
            self._state == IN_START
            and not self._token
            and not self._tokens
            and not self._brace_count
            and not self._bracket_count
            and not self._parser.stack
        )

    def _location(self, pos: int) -> tuple[int, int]:
        """The line and column (1-based, in bytes) of offset ``pos``."""
        if pos < self._base:
            return self._tok_loc
        rel = pos - self._base
        data = self._data
        n = data.count(b"\n", 0, rel)
        start = self._base + data.rfind(b"\n", 0, rel) + 1 if n else self._line_start
        return self._lines + n + 1, pos - start + 1

    def _located(self, pos: int, desc: str) -> JSONError:
        line, column = self._location(pos)
        return JSONError(M.JSON_ERROR_AT.format(line, column, desc))

    # --- Public feeding ---------------------------------------------------
    def feed(self, data: bytes) -> list[object]:
        """Feed bytes; return the values and errors they complete, in order."""
        out: list[object] = []
        if not data:
            return out
        data = bytes(data)
        if not self.push:
            self._feed(data, out)
            return out
        self._data = data
        try:
            self._feed(data, out)
        finally:
            if self._tok_pos >= self._base:
                self._tok_loc = self._location(self._tok_pos)
            breaks = data.count(b"\n")
            if breaks:
                self._lines += breaks
                self._line_start = self._base + data.rfind(b"\n") + 1
            self._base += len(data)
            self._data = b""
        return out

    def _feed(self, data: bytes, out: list[object]) -> None:
        base = self._base
        if not self.fast:
            self._feed_exact(data, 0, out, stop_when_idle=False)
            return
        if _line_tier and data[0] in b"{[" and self.is_idle() and self._try_line(data, out):
            self._tok_pos = base + len(data)
            return
        n = len(data)
        pos = 0
        text: str | None = None
        # Position up to which the fast path has already been tried and
        # failed; keeps the total work linear.
        no_fast_until = 0
        while pos < n:
            if pos >= no_fast_until and self.is_idle():
                m = _WS.match(data, pos)
                assert m is not None
                if m.end() > pos:
                    pos = m.end()
                    self._tok_pos = base + pos
                if pos >= n:
                    break
                if data[pos] in b"{[":
                    if text is None:
                        text = data.decode("latin-1")
                    end, no_fast_until = self._try_fast(data, text, pos, out)
                    if end:
                        pos = end
                        self._tok_pos = base + pos
                        continue
            pos = self._feed_exact(data, pos, out, stop_when_idle=True)

    def flush(self) -> list[object]:
        """json_message_parser_flush(): end of input.

        The QMP monitor never calls this (an unfinished message waits for more
        input); it exists for parity with ``qobject_from_json()``.
        """
        out: list[object] = []
        # json_lexer_flush(): feed a NUL that is never consumed until the
        # lexer is back at its start state (it counts as a column).
        self._at = self._base + 1
        while self._state != IN_START:
            nxt = _table()[self._state][0] & ~_LOOKAHEAD
            self._lexer_step_result(nxt, out)
        self._process(b"", JSON_END_OF_INPUT, out)
        return out

    # --- Exact engine -----------------------------------------------------
    def _lexer_step_result(self, nxt: int, out: list[object]) -> None:
        token = self._token
        if nxt >= JSON_MIN:
            self._process(bytes(token), nxt, out)
            token.clear()
            self._state = IN_START
            self._tok_pos = self._at
        elif nxt == IN_START:
            token.clear()
            self._state = IN_START
            self._tok_pos = self._at
        elif nxt == JSON_ERROR:
            self._process(bytes(token), JSON_ERROR, out)
            token.clear()
            self._state = IN_RECOVERY
        elif nxt == IN_RECOVERY:
            token.clear()
            self._state = IN_RECOVERY
        else:
            self._state = nxt

    def _feed_exact(self, data: bytes, pos: int, out: list[object], *, stop_when_idle: bool) -> int:
        table = _table()
        runs = _runs()
        token = self._token
        max_size = self.max_token_size
        n = len(data)
        base = self._base
        while pos < n:
            state = self._state
            run = runs[state]
            if run is not None:
                m = run.match(data, pos)
                if m is not None:
                    end = m.end()
                    if state == IN_START:
                        pos = end
                        self._tok_pos = base + end
                    elif state == IN_RECOVERY:
                        pos = end
                    else:
                        # The size check runs after every character, so stop
                        # the run where the token first exceeds the limit.
                        room = max_size + 1 - len(token)
                        if end - pos > room:
                            end = pos + room
                        token += data[pos:end]
                        pos = end
                        if len(token) > max_size:
                            self._token_overflow(out)
                    if stop_when_idle and self.is_idle():
                        return pos
                    continue
            ch = data[pos]
            pos += 1
            self._at = base + pos
            while True:
                nxt = table[self._state][ch]
                if nxt & _LOOKAHEAD:
                    self._lexer_step_result(nxt & ~_LOOKAHEAD, out)
                else:
                    token.append(ch)
                    self._lexer_step_result(nxt, out)
                    break
            if len(token) > max_size:
                self._token_overflow(out)
            if stop_when_idle and self.is_idle():
                return pos
        return pos

    def _token_overflow(self, out: list[object]) -> None:
        # json_lexer_feed_char() hands the unfinished token over with the
        # lexer state as its "type"; the streamer's size check then fires.
        self._process(bytes(self._token), self._state, out)
        self._token.clear()
        self._state = IN_START

    def _emit(self, item: object, out: list[object]) -> None:
        self._brace_count = 0
        self._bracket_count = 0
        self._tokens = []
        self._token_size = 0
        out.append(item)

    def _process(self, text: bytes, ttype: int, out: list[object]) -> None:
        """json_message_process_token()."""
        if self.push:
            self._process_push(text, ttype, out)
            return
        if ttype == JSON_LCURLY:
            self._brace_count += 1
        elif ttype == JSON_RCURLY:
            self._brace_count -= 1
        elif ttype == JSON_LSQUARE:
            self._bracket_count += 1
        elif ttype == JSON_RSQUARE:
            self._bracket_count -= 1
        elif ttype == JSON_ERROR:
            # "%s" stops at the first NUL.
            stray = text.split(b"\x00", 1)[0]
            self._emit(JSONError(JSON_STRAY.format(_text(stray))), out)
            return
        elif ttype == JSON_END_OF_INPUT:
            if not self._tokens:
                return
            self._emit(self._parse_tokens(), out)
            return

        if self._token_size + len(text) + 1 > self.max_token_size:
            self._emit(JSONError(JSON_TOKEN_SIZE_LIMIT), out)
            return
        if len(self._tokens) + 1 > self.max_token_count:
            self._emit(JSONError(JSON_TOKEN_COUNT_LIMIT), out)
            return
        if self._bracket_count + self._brace_count > self.max_nesting:
            self._emit(JSONError(JSON_NESTING_LIMIT), out)
            return

        self._tokens.append((ttype, text))
        self._token_size += len(text)

        brace = self._brace_count
        bracket = self._bracket_count
        if (brace > 0 or bracket > 0) and brace >= 0 and bracket >= 0:
            return
        self._emit(self._parse_tokens(), out)

    def _process_push(self, text: bytes, ttype: int, out: list[object]) -> None:
        """11.1's json_message_process_token(): each token goes to the push
        parser at once; after an error, tokens are eaten until the message
        ends (the brace and bracket counts), or until the lexer's next
        error."""
        if ttype == JSON_ERROR:
            # Reported unless recovering; either way a fresh start.
            if not self._error:
                try:
                    self._parser.feed(ttype, text)
                except _ParseError as e:
                    out.append(self._located(self._tok_pos, e.desc))
            self._push_reset()
            return
        self._token_size += len(text)
        self._token_count += 1
        if ttype == JSON_LCURLY:
            self._brace_count += 1
        elif ttype == JSON_RCURLY:
            self._brace_count -= 1
        elif ttype == JSON_LSQUARE:
            self._bracket_count += 1
        elif ttype == JSON_RSQUARE:
            self._bracket_count -= 1
        brace = self._brace_count
        bracket = self._bracket_count
        if not self._error:
            error: JSONError | None = None
            if self._token_size > self.max_token_size:
                error = JSONError(JSON_TOKEN_SIZE_LIMIT)
            elif self._token_count > self.max_token_count:
                error = JSONError(JSON_TOKEN_COUNT_LIMIT)
            elif brace + bracket > self.max_nesting:
                error = JSONError(JSON_NESTING_LIMIT)
            else:
                try:
                    value = self._parser.feed(ttype, text)
                except _ParseError as e:
                    error = self._located(self._tok_pos, e.desc)
                else:
                    if value is not _MORE:
                        out.append(value)
            if error is not None:
                out.append(error)
                self._error = True
        # A message ends where the old streamer flushed its queue: when
        # nothing is open, or a closer had no opener (seen live).
        if (
            not ((brace > 0 or bracket > 0) and brace >= 0 and bracket >= 0)
            or ttype == JSON_END_OF_INPUT
        ):
            self._push_reset()

    def _push_reset(self) -> None:
        self._error = False
        self._brace_count = 0
        self._bracket_count = 0
        self._token_count = 0
        self._token_size = 0
        self._parser.stack.clear()

    def _parse_tokens(self) -> object:
        try:
            return _parse(self._tokens)
        except _ParseError as e:
            return JSONError(e.desc)

    # --- Fast path --------------------------------------------------------
    def _within_limits(self, seg: bytes, size: int) -> bool:
        """Whether a value of ``size`` bytes in ``seg`` cannot trip the token
        size, count or nesting limits: its tokens are at most its bytes, its
        nesting at most its open brackets (only counted when they could be
        too many)."""
        return (
            size + 1 <= self.max_token_size
            and size <= self.max_token_count
            and (size <= self.max_nesting or seg.count(b"{") + seg.count(b"[") <= self.max_nesting)
        )

    def _try_line(self, data: bytes, out: list[object]) -> bool:
        """Decode ``data``, one whole request, with json's scanner if safe.

        Taken only when ``data`` is one line (after trailing whitespace), all
        ASCII and without a backslash: then no string holds an escape, so the
        surrogate and noncharacter questions of :meth:`_try_fast` cannot
        arise.  Its decoder declines NaN and Infinity, floats (their
        rounding is left to the one parser checked against QEMU's) and
        duplicate keys, and so needs none of :meth:`_try_fast`'s checks
        after the fact.
        """
        end = len(data.rstrip(b" \t\r\n"))
        if not self._within_limits(data, end):
            return False
        scan = data.translate(_LINE_SCAN)
        if scan.find(b"X", 0, end) >= 0 or scan.find(_LONG_DIGITS) >= 0:
            return False
        try:
            obj, stop = _LINE_DECODER.raw_decode(data.decode("ascii"))
        except (ValueError, RecursionError):
            return False
        if stop != end:
            # Another value, or anything else, after the first.
            return False
        out.append(obj)
        return True

    def _try_fast(self, data: bytes, text: str, pos: int, out: list[object]) -> tuple[int, int]:
        """Decode one object/array at ``pos`` with :mod:`json` if that is safe.

        Returns ``(end, scanned)``: ``end`` is 0 when declined, and
        ``scanned`` is how far the attempt looked, so that it is not retried
        before the exact engine has moved past that point.

        Only the idle state gets here.  If Python decodes a complete value
        from ``{``/``[``, every token QEMU lexes in it is a well-formed JSON
        token, QEMU's brace and bracket counts first return to zero at its
        end, and QEMU parses the same value, unless one of the differences
        between the two parsers is involved; each is ruled out below.
        """
        dec = self._decoders
        dec.rejected = False
        try:
            obj, end = dec.plain.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            if e.msg.startswith("Unterminated"):
                return 0, len(data)
            return 0, e.pos + 1
        except (ValueError, RecursionError):
            return 0, len(data)
        if dec.rejected:
            # Duplicate key or NaN/Infinity.
            return 0, end
        seg = data[pos:end]
        if not self._within_limits(seg, end - pos):
            return 0, end
        # \u escapes of surrogates or noncharacters: Python accepts them.
        if b"\\u" in seg and _RISKY_U_ESCAPE.search(seg):
            return 0, end
        if not seg.isascii():
            # The latin-1 pass only found the extent.  Python's strict UTF-8
            # differs from QEMU's modified UTF-8 only in noncharacters (QEMU
            # rejects them) and "\xC0\x80" (QEMU accepts it); bytes >= 0x80
            # outside strings fail in both.
            try:
                utext = seg.decode("utf-8")
            except UnicodeDecodeError:
                return 0, end
            if _NONCHAR.search(utext):
                return 0, end
            try:
                obj = dec.big_int.decode(utext)
            except (ValueError, RecursionError):
                return 0, end
        elif seg.translate(_DIGITS_TO_ZERO).find(_LONG_DIGITS) >= 0:
            # Integers beyond uint64 become floats in QEMU.
            try:
                obj = dec.big_int.decode(text[pos:end])
            except (ValueError, RecursionError):
                return 0, end
        out.append(obj)
        return end, end
