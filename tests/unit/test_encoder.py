"""memdevd.qapi.json_writer: the bytes QEMU's monitor writes for a response.

Known answers are lines captured from QEMU 7.2.22 and 10.0.2 (identical);
tests/conformance/test_json_live.py compares against them live.  The
hypothesis tests show the fast encoder equals the reference transcription
of json-writer.c, and the reference's %.17g equals glibc's printf.
"""

from __future__ import annotations

import ctypes
import enum
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memdevd.qapi.json_writer import (
    JSONText,
    encode,
    encode_reference,
    format_double,
    quote_string,
    to_json,
    to_json_reference,
)
from memdevd.qapi.qdict import qdict_key_order, qstring_bytes, tdb_hash
from memdevd.qmp.framing import JSONError, JSONStreamer

NEGOTIATION = "Expecting capabilities negotiation with 'qmp_capabilities'"


def not_negotiated(id_: object) -> dict[str, object]:
    # qmp_dispatch(): "error" first, then "id".
    return {"error": {"class": "CommandNotFound", "desc": NEGOTIATION}, "id": id_}


def parse_one(data: bytes) -> object:
    [value] = JSONStreamer().feed(data)
    return value


# --- Lines captured from QEMU -------------------------------------------------
def test_greeting_7_2() -> None:
    greeting = {
        "QMP": {
            "version": {
                "qemu": {"major": 7, "minor": 2, "micro": 22},
                "package": "Debian 1:7.2+dfsg-7+deb12u18+b3",
            },
            "capabilities": ["oob"],
        }
    }
    assert encode(greeting) == (
        b'{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, '
        b'"package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}\r\n'
    )


def test_empty_return_is_written_as_qemu_does() -> None:
    # A constant for the commonest reply: it must be the reference's bytes.
    assert encode({"return": {}}) == encode_reference({"return": {}}) == b'{"return": {}}\r\n'
    assert encode({"return": {}, "id": 1}) == encode_reference({"return": {}, "id": 1})


def test_return_replies() -> None:
    assert encode({"return": {}, "id": 1}) == b'{"return": {}, "id": 1}\r\n'
    status = {"running": False, "singlestep": False, "status": "prelaunch"}
    assert encode({"return": status, "id": {"x": 1}}) == (
        b'{"return": {"status": "prelaunch", "singlestep": false, "running": false},'
        b' "id": {"x": 1}}\r\n'
    )


def test_error_reply_puts_id_first() -> None:
    assert encode(not_negotiated(5)) == (
        b'{"id": 5, "error": {"class": "CommandNotFound", "desc": '
        b"\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n"
    )


def test_echoed_ids() -> None:
    value = parse_one(
        b'{"execute":"x","id":[1e400,-1.5,1e-7,18446744073709551616,1e16,'
        b"12345678901234567890,-9223372036854775809,0.1,-0.0,5e-324,"
        b'1.7976931348623157e308, "\\u00e9\\ud83d\\ude00\x7f/\xc3\xa9\xef\xbf\xbd"]}'
    )
    assert isinstance(value, dict)
    expected = (
        b'{"id": [inf, -1.5, 9.9999999999999995e-08, 1.8446744073709552e+19, '
        b"10000000000000000, 12345678901234567890, -9.2233720368547758e+18, "
        b"0.10000000000000001, -0, 4.9406564584124654e-324, 1.7976931348623157e+308, "
        b'"\\u00E9\\uD83D\\uDE00\\u007F/\\u00E9\\uFFFD"], "error": {"class": '
        b'"CommandNotFound", "desc": "' + NEGOTIATION.encode() + b'"}}\r\n'
    )
    assert encode(not_negotiated(value["id"])) == expected
    assert encode_reference(not_negotiated(value["id"])) == expected
    value = parse_one(b'{"execute":"x","id":{"a":1,"b":2,"c":3,"id":4,"execute":5}}')
    assert isinstance(value, dict)
    assert encode(not_negotiated(value["id"])).startswith(
        b'{"id": {"a": 1, "execute": 5, "b": 2, "c": 3, "id": 4}, "error": '
    )
    assert encode(not_negotiated(parse_one(b'{"id":"\\u0000"}'))) != b""
    assert to_json("\x00") == '"\\u0000"'


@pytest.mark.parametrize(
    ("data", "desc"),
    [
        (b"\x80", b"JSON parse error, stray '\\uFFFD'"),
        (b"\x01", b"JSON parse error, stray '\\u0001'"),
        (b'"\xff', b"JSON parse error, stray '\\\"\\uFFFD'"),
        (
            b'"\\u123\xc3\xa9"',
            b"JSON parse error, \\\\u123\\uFFFD is not a valid Unicode character",
        ),
        (b'"\\u12\xc3\xa9"', b"JSON parse error, \\\\u12\\u00E9 is not a valid Unicode character"),
    ],
)
def test_parse_error_replies(data: bytes, desc: bytes) -> None:
    line = b'{"error": {"class": "GenericError", "desc": "' + desc + b'"}}\r\n'
    [err] = JSONStreamer().feed(data)
    assert isinstance(err, JSONError)
    reply = {"error": {"class": "GenericError", "desc": err.desc}}
    assert encode(reply) == line
    assert encode_reference(reply) == line


# --- Key order ----------------------------------------------------------------
def _colliding_keys() -> tuple[str, str]:
    seen: dict[int, str] = {}
    for i in range(10_000):
        key = f"k{i}"
        bucket = tdb_hash(key.encode()) % 512
        if bucket in seen:
            return seen[bucket], key
        seen[bucket] = key
    raise AssertionError("no collision")


def test_bucket_is_lifo() -> None:
    a, b = _colliding_keys()
    assert qdict_key_order([a, b]) == (b, a)
    assert qdict_key_order([b, a]) == (a, b)
    assert encode({a: 1, b: 2}) == f'{{"{b}": 2, "{a}": 1}}\r\n'.encode()


def test_key_order_is_by_bucket() -> None:
    keys = [f"key{i}" for i in range(40)]
    order = qdict_key_order(keys)
    buckets = [tdb_hash(k.encode()) % 512 for k in order]
    assert buckets == sorted(buckets)
    assert sorted(order) == sorted(keys)


def test_tdb_hash_uses_qstring_bytes() -> None:
    # "\x00" is stored as "\xC0\x80" (strlen 2), not as an empty C string.
    assert qdict_key_order(["\x00", "a"]) == qdict_key_order(["\x00", "a"])
    assert tdb_hash(qstring_bytes("\x00")) == tdb_hash(b"\xc0\x80")


# --- Strings ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('"\\/\b\f\n\r\t', '"\\"\\\\/\\b\\f\\n\\r\\t"'),
        ("\x00\x01\x1f\x7f", '"\\u0000\\u0001\\u001F\\u007F"'),
        ("é€", '"\\u00E9\\u20AC"'),
        ("\U0001f600", '"\\uD83D\\uDE00"'),
        ("\U0010fffd", '"\\uDBFF\\uDFFD"'),
        # Noncharacters are invalid for mod_utf8_codepoint().
        ("\ufffe\uffff\ufdd0\ufdef\U0001fffe\U0010ffff", '"' + "\\uFFFD" * 6 + '"'),
        ("\ufdcf\ufdf0\ufffd", '"\\uFDCF\\uFDF0\\uFFFD"'),
        # Raw bytes (surrogateescape) are decoded together, as QEMU does.
        ("\udcc3\udca9", '"\\u00E9"'),
        ("\udcc3", '"\\uFFFD"'),
        ("\udcc0\udc80", '"\\u0000"'),
        ("\udce2\udc82", '"\\uFFFD"'),
        ("\udcf8\udc88\udc80\udc80\udc80", '"\\uFFFD"'),
        ("\udc80\udc80", '"\\uFFFD\\uFFFD"'),
        # Other lone surrogates: their 3-byte form, one invalid sequence.
        ("\ud800", '"\\uFFFD"'),
        ("\ud83d\ude00", '"\\uFFFD\\uFFFD"'),
        # A literal backslash-u is not an escape to fix up.
        ("\\u00e9", '"\\\\u00e9"'),
        ("\\\u00e9", '"\\\\\\u00E9"'),
    ],
)
def test_quote_string(text: str, quoted: str) -> None:
    assert quote_string(text) == quoted
    assert to_json(text) == quoted
    assert to_json([text]) == f"[{quoted}]"
    assert encode_reference(text) == quoted.encode() + b"\r\n"


def test_qstring_bytes() -> None:
    assert qstring_bytes("a\x00é") == b"a\xc0\x80\xc3\xa9"
    assert qstring_bytes("\udc80\udcff") == b"\x80\xff"
    assert qstring_bytes("\ud800") == b"\xed\xa0\x80"


# --- Numbers ------------------------------------------------------------------
_libc = ctypes.CDLL(None)


def glibc_g17(x: float) -> str:
    buf = ctypes.create_string_buffer(64)
    _libc.snprintf(buf, 64, b"%.17g", ctypes.c_double(x))
    return buf.value.decode()


@settings(max_examples=500, deadline=None)
@given(st.floats() | st.sampled_from([0.1, 1e16, 1e17, 1e-7, 5e-324, 2.0**64, 1e21, 123.0]))
def test_format_double_is_glibc(x: float) -> None:
    assert format_double(x) == glibc_g17(x)


def test_format_double_specials() -> None:
    neg_nan = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000000))[0]
    assert format_double(neg_nan) == glibc_g17(neg_nan) == "-nan"
    assert format_double(math.nan) == "nan"
    assert format_double(-math.inf) == "-inf"
    assert format_double(-0.0) == "-0"


def test_integers() -> None:
    assert (
        encode([-(2**63), 2**64 - 1, 0, True])
        == b"[-9223372036854775808, 18446744073709551615, 0, true]\r\n"
    )
    for bad in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError):
            encode(bad)
        with pytest.raises(ValueError):
            encode_reference({"a": [bad]})


# --- Types --------------------------------------------------------------------
class Color(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_subclasses_and_tuples() -> None:
    value = {Color.RED: [Level.HIGH, Color.RED, (1, None)]}
    assert encode(value) == encode_reference(value) == b'{"red": [3, "red", [1, null]]}\r\n'


@pytest.mark.parametrize("bad", [{1: 2}, {"a": {1, 2}}, [b"bytes"], object()])
def test_unsupported_types(bad: object) -> None:
    with pytest.raises(TypeError):
        encode(bad)
    with pytest.raises(TypeError):
        encode_reference(bad)


# --- Fast encoder == reference ------------------------------------------------
_SPECIAL = [
    "\x00",
    "\x1f",
    "\x7f",
    "\\",
    '"',
    "u",
    "\\u",
    "é",
    "\U0001f600",
    "\ud800",
    "\udbff",
    "\udc80",
    "\udcc3",
    "\udca9",
    "\udfff",
    "\ufdd0",
    "\ufffe",
    "\uffff",
    "\U0001fffe",
    "\U0010ffff",
    "\ufffd",
    "\ud7ff",
]
texts = st.lists(st.sampled_from(_SPECIAL) | st.characters(exclude_categories=()), max_size=8).map(
    "".join
) | st.text(max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | texts
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(texts, children, max_size=6)
    ),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None)
@given(values)
def test_fast_encoder_equals_reference(value: object) -> None:
    assert encode(value) == encode_reference(value)


@settings(max_examples=60, deadline=None)
@given(st.lists(values, min_size=30, max_size=100))
def test_long_lists_written_by_slices_equal_reference(value: list[object]) -> None:
    # Lists longer than the slice the encoder writes at a time (32): the
    # joined slices must be the list QEMU writes.
    assert to_json(value) == to_json_reference(value)


@settings(max_examples=300, deadline=None)
@given(values, st.one_of(st.none(), values))
def test_an_encoded_return_value_is_written_as_the_value(value: object, req_id: object) -> None:
    # A handler may return a JSONText (query-version, an unchanged device
    # list); the reply, with or without an id, and again from the cache,
    # is the reply of the value itself.
    reply: dict[str, object] = {"return": JSONText(to_json(value))}
    want: dict[str, object] = {"return": value}
    if req_id is not None:
        reply["id"] = want["id"] = req_id
    assert encode(reply) == encode_reference(want)
    assert encode(reply) == encode_reference(want)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=12))
def test_dict_order_matches_reference(value: dict[str, int]) -> None:
    keys = qdict_key_order(value)
    assert (
        encode(value)
        == ("{" + ", ".join(f"{quote_string(k)}: {value[k]}" for k in keys) + "}\r\n").encode()
    )


clean_text = st.text(
    st.characters(codec="utf-8").filter(
        lambda c: not (0xFDD0 <= ord(c) <= 0xFDEF or (ord(c) & 0xFFFE) == 0xFFFE)
    ),
    max_size=6,
)
clean_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(clean_text, children, max_size=4)
    ),
    max_leaves=12,
)


def _same(got: object, want: object) -> bool:
    if isinstance(want, float):
        # %.17g round-trips the value; an integral one comes back as int.
        return isinstance(got, int | float) and not isinstance(got, bool) and float(got) == want
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_same(got[k], want[k]) for k in want)
        )
    return type(got) is type(want) and got == want


@settings(max_examples=300, deadline=None)
@given(clean_values)
def test_round_trip_through_qemus_parser(value: object) -> None:
    assert _same(parse_one(encode(value)), value)


def test_cached_device_list_encodes_like_the_list() -> None:
    # query-memory-devices reuses the encoding of an unchanged list (from
    # 16 devices on); the bytes on the wire must be those of the list.
    from memdevd.app import cli

    parsed = cli.parse(["-machine", "pc", "-m", "1G,slots=32,maxmem=64G"], "memdevd")
    daemon, _ = cli.build_daemon(parsed, "memdevd")
    machine = daemon.machine
    cmd = daemon.registry.get("query-memory-devices")
    assert cmd is not None
    for k in range(20):
        machine.object_add("memory-backend-ram", f"m{k}", {"size": 1 << 30})
        machine.device_add({"driver": "pc-dimm", "id": f"d{k}", "memdev": f"m{k}"}, from_json=True)
        got = cmd.handler(None, {})  # type: ignore[arg-type]
        assert encode({"return": got, "id": k}) == encode(
            {"return": machine.memory.device_list(), "id": k}
        )
    first = cmd.handler(None, {})  # type: ignore[arg-type]
    assert cmd.handler(None, {}) is first  # unchanged: the same encoding
    machine.device_del("d3")  # no guest: the DIMM stays, nothing changes
    machine.object_add("memory-backend-ram", "x", {"size": 1 << 30})
    machine.device_add({"driver": "pc-dimm", "id": "dx", "memdev": "x"}, from_json=True)
    again = cmd.handler(None, {})  # type: ignore[arg-type]
    assert again is not first and '"id": "dx"' in again
