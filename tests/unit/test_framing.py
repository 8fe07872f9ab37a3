"""memdevd.qmp.framing: QEMU's JSON lexer/streamer/parser, and its fast path.

Expected results come from QEMU's sources and from replies of the real QEMU
7.2.22 and 10.0.2 (tests/conformance/test_json_live.py checks them live).
The hypothesis tests show that the json fast path and any chunking of the
input change nothing.
"""

from __future__ import annotations

import json
import math
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memdevd.qmp import framing
from memdevd.qmp.framing import (
    JSON_DUPLICATE_KEY,
    JSON_EXPECTED_DICT_SEPARATOR,
    JSON_EXPECTED_LIST_SEPARATOR,
    JSON_EXPECTING_VALUE,
    JSON_INVALID_ESCAPE,
    JSON_INVALID_UTF8,
    JSON_KEY_NOT_STRING,
    JSON_MISSING_COLON,
    JSON_NESTING_LIMIT,
    JSON_PREMATURE_EOI,
    JSON_TOKEN_COUNT_LIMIT,
    JSON_TOKEN_SIZE_LIMIT,
    JSONError,
    JSONStreamer,
)


def E(desc: str) -> JSONError:
    return JSONError(desc)


def stray(text: str) -> JSONError:
    return JSONError(f"JSON parse error, stray '{text}'")


def keyword(text: str) -> JSONError:
    return JSONError(f"JSON parse error, invalid keyword '{text}'")


def not_unicode(text: str) -> JSONError:
    return JSONError(f"JSON parse error, {text} is not a valid Unicode character")


def canon(x: object) -> object:
    """A form in which 1 != 1.0, -0.0 != 0.0 and dict order matters."""
    if isinstance(x, JSONError):
        return ("error", x.desc)
    if isinstance(x, dict):
        return ("dict", tuple((k, canon(v)) for k, v in x.items()))
    if isinstance(x, list):
        return ("list", tuple(canon(v) for v in x))
    if isinstance(x, float):
        return ("float", repr(x))
    return (type(x).__name__, x)


def run(data: bytes, *, fast: bool = True, chunk: int | None = None, **limits: int) -> list[object]:
    s = JSONStreamer(fast=fast, **limits)
    if chunk is None:
        return s.feed(data)
    out: list[object] = []
    for i in range(0, len(data), chunk):
        out += s.feed(data[i : i + chunk])
    return out


def check(data: bytes, expected: list[object], **limits: int) -> None:
    want = [canon(x) for x in expected]
    for fast in (True, False):
        for chunk in (None, 1, 3):
            got = [canon(x) for x in run(data, fast=fast, chunk=chunk, **limits)]
            assert got == want, (fast, chunk)


# --- Oracle cases (observed on QEMU 7.2 and 10.0) ----------------------------
ORACLE = [
    (b'{"execute": query-status}', [stray("-s"), E(JSON_EXPECTING_VALUE)]),
    (b"foo\n", [keyword("foo")]),
    (b"}", [E(JSON_EXPECTING_VALUE)]),
    (b'{"execute": "query-status",}', [E(JSON_EXPECTING_VALUE)]),
    (b'{"execute": "query-status" "id":5}', [E(JSON_EXPECTED_DICT_SEPARATOR)]),
    (b'"\\x"', [E(JSON_INVALID_ESCAPE)]),
    (b"nul ", [keyword("nul")]),
    (b'{"a":1}{"b":2}', [{"a": 1}, {"b": 2}]),
    (b"%d\n", [stray("%")]),
    (b'{"a":1,"a":2}', [E(JSON_DUPLICATE_KEY)]),
    (b"{]", [E(JSON_EXPECTING_VALUE)]),
    (b"[}", [E(JSON_EXPECTING_VALUE)]),
    (b"{1:2}", [E(JSON_KEY_NOT_STRING)]),
    (b'{"a" 1}', [E(JSON_MISSING_COLON)]),
    (b"[1 2]", [E(JSON_EXPECTED_LIST_SEPARATOR)]),
    (b"1 2 ", [1, 2]),
    (b"'abc'", ["abc"]),
    (b"{'a':'b\\'\"c'}", [{"a": "b'\"c"}]),
    (b'"\\uD800"', [not_unicode("\\uD800")]),
    (b'"\\uD800\\u0041"', [not_unicode("\\uD800")]),
    (b'"\\uDC00"', [not_unicode("\\uDC00")]),
    (b'"\\u12"', [not_unicode('\\u12"')]),
    (b'"\\u1"', [not_unicode('\\u1"')]),
    (b'"\\u"', [not_unicode('\\u"')]),
    (b'"\\uFFFE"', [not_unicode("\\uFFFE")]),
    (b'"\\ufdd0"', [not_unicode("\\ufdd0")]),
    (b'"\\uD83F\\uDFFE"', [not_unicode("\\uD83F\\uDFFE")]),
    (b'"\\u12\xc3\xa9"', [not_unicode("\\u12é")]),
    # The 6-byte window cuts the UTF-8 sequence in half.
    (b'"\\u123\xc3\xa9"', [not_unicode("\\u123\udcc3")]),
    (b'"\\q"', [E(JSON_INVALID_ESCAPE)]),
    (b'"\\\xc3\xa9"', [E(JSON_INVALID_ESCAPE)]),
    (b'"\xed\xa0\x80"', [E(JSON_INVALID_UTF8)]),
    (b'"\xef\xbf\xbe"', [E(JSON_INVALID_UTF8)]),
    (b'"\xc3"', [E(JSON_INVALID_UTF8)]),
    (b'"\xc0\x81"', [E(JSON_INVALID_UTF8)]),
    (b'"\xf8\x88\x80\x80\x80"', [E(JSON_INVALID_UTF8)]),
    (b'"\xc0\x80"', ["\x00"]),
    (b'"\\u0000"', ["\x00"]),
    (b'"\\ud83d\\ude00\xf0\x9f\x98\x80\x7f"', ["\U0001f600\U0001f600\x7f"]),
    # Errors in a string: the first one from the left wins.
    (b'"\x80\\q"', [E(JSON_INVALID_UTF8)]),
    (b'"\\q\x80"', [E(JSON_INVALID_ESCAPE)]),
    # Value errors before the duplicate-key check.
    (b'{"a":1,"a":[1,}]', [E(JSON_EXPECTING_VALUE)]),
    (b"{[1]:2}", [E(JSON_KEY_NOT_STRING)]),
    (b"{[1,]:2}", [E(JSON_EXPECTING_VALUE)]),
    # Stray bytes; after one the lexer skips to a structural or control byte.
    (b'\x80\xfe\x01"', [stray("\udc80"), stray("\udcfe"), stray("\x01")]),
    (b'"\xff', [stray('"\udcff')]),
    (b"ab\x00cd[", [keyword("ab"), stray("")]),
    (b'"ab\tc"', [stray('"ab\t')]),
    (b'"ab\x00c"\n', [stray('"ab')]),
    (b'"abc\n', [stray('"abc\n')]),
    (b"01 ", [stray("01")]),
    (b"-x", [stray("-x")]),
    (b"1.e5 ", [stray("1.e")]),
    (b".5 ", [stray(".")]),
    (b".5,6 ", [stray("."), E(JSON_EXPECTING_VALUE), 6]),
    (b"NaN ", [stray("N")]),
    (b"Infinity 1 ", [stray("I")]),
    (b"Infinity\n1 ", [stray("I"), 1]),
    (b"X, 1 ", [stray("X"), E(JSON_EXPECTING_VALUE), 1]),
    (b"x, 1 ", [keyword("x"), E(JSON_EXPECTING_VALUE), 1]),
    (b'{"a": X "b"} 7 ', [stray("X"), E(JSON_EXPECTING_VALUE), 7]),
    (b'{"a": x "b"} 7 ', [keyword("x"), 7]),
    (b"truefalse ", [keyword("truefalse")]),
    (b"true1 ", [True, 1]),
    (b"[true1]", [E(JSON_EXPECTED_LIST_SEPARATOR)]),
    (b":", [E(JSON_EXPECTING_VALUE)]),
    (b",", [E(JSON_EXPECTING_VALUE)]),
    (b"[]{}", [[], {}]),
    (b" \t\r\n", []),
    (b"", []),
    (b"12", []),
    (b"[[1]", []),
]


@pytest.mark.parametrize(("data", "expected"), ORACLE, ids=[repr(d)[:40] for d, _ in ORACLE])
def test_oracle(data: bytes, expected: list[object]) -> None:
    check(data, expected)


def test_numbers() -> None:
    data = (
        b"[0, -0, 9223372036854775807, -9223372036854775808, 18446744073709551615,"
        b" 18446744073709551616, -9223372036854775809, 1e400, -1e400, 1.5, -0.0, 1E+2,"
        b" 5e-324, 1e-400, 123456789012345678901234567890]"
    )
    [got] = run(data)
    assert canon(got) == canon(
        [
            0,
            0,
            2**63 - 1,
            -(2**63),
            2**64 - 1,
            float(2**64),
            -9.223372036854775808e18,
            math.inf,
            -math.inf,
            1.5,
            -0.0,
            100.0,
            5e-324,
            0.0,
            1.2345678901234568e29,
        ]
    )


def test_huge_integer_literal_is_a_float() -> None:
    # Beyond int()'s default 4300-digit limit, too.
    [got] = run(b"[" + b"9" * 5000 + b"]")
    assert canon(got) == canon([math.inf])


def test_top_level_number_waits_for_a_delimiter() -> None:
    s = JSONStreamer()
    assert s.feed(b"12") == []
    assert s.feed(b"34") == []
    assert canon(s.feed(b"\n")) == canon([1234])


def test_keyword_message_is_cut_to_1023_bytes() -> None:
    # parse_error() formats into char message[1024]; no closing quote left.
    [err] = run(b"a" * 1100 + b"\n")
    assert isinstance(err, JSONError)
    assert err.desc == "JSON parse error, invalid keyword '" + "a" * 1006
    assert len(err.desc.removeprefix("JSON parse error, ")) == 1023


def test_stray_message_is_not_cut() -> None:
    [err] = run(b'"' + b"b" * 3000 + b"\n")
    assert err == stray('"' + "b" * 3000 + "\n")


def test_nesting_limit_1024_ok_1025_fails() -> None:
    [ok] = run(b"[" * 1024 + b"]" * 1024)
    assert isinstance(ok, list)
    got = run(b"[" * 1025 + b"]" * 1025)
    # The 1025th '[' trips the limit and resets; every ']' is then alone.
    assert got == [E(JSON_NESTING_LIMIT)] + [E(JSON_EXPECTING_VALUE)] * 1025
    got = run(b'{"a":' * 1025 + b"1" + b"}" * 1025)
    # What follows the 1025th '{' is read afresh: "a", ':', 1, then '}'s.
    assert canon(got) == canon(
        [E(JSON_NESTING_LIMIT), "a", E(JSON_EXPECTING_VALUE), 1] + [E(JSON_EXPECTING_VALUE)] * 1025
    )


def test_nesting_limit_configured() -> None:
    check(
        b"[[[1]]]",
        [E(JSON_NESTING_LIMIT), 1, E(JSON_EXPECTING_VALUE)] + [E(JSON_EXPECTING_VALUE)] * 2,
        max_nesting=2,
    )
    check(b"[[1]]", [[[1]]], max_nesting=2)
    check(b"[{}]", [[{}]], max_nesting=2)


def test_token_size_limit_in_the_streamer() -> None:
    # token_size + len + 1 > max: a 15-byte token fits 16, a 16-byte one not.
    check(b'"' + b"a" * 13 + b'"', ["a" * 13], max_token_size=16)
    check(b'"' + b"a" * 14 + b'"', [E(JSON_TOKEN_SIZE_LIMIT)], max_token_size=16)
    # Cumulative over a message: the sizes are 1, 3, 1, 3, 1, 3, 1, 3.
    check(
        b'["a","b","c","d"]',
        [E(JSON_TOKEN_SIZE_LIMIT), E(JSON_EXPECTING_VALUE)],
        max_token_size=16,
    )
    check(b'["a","b","c"]', [["a", "b", "c"]], max_token_size=16)


def test_token_size_limit_in_the_lexer() -> None:
    # A token longer than the limit is cut off after max+1 bytes and the
    # lexer starts over on the next byte.
    check(
        b'"' + b"a" * 20 + b'"\n',
        [E(JSON_TOKEN_SIZE_LIMIT), keyword("aaaa"), stray('"\n')],
        max_token_size=16,
    )
    check(b"1" * 17 + b"23 ", [E(JSON_TOKEN_SIZE_LIMIT), 23], max_token_size=16)


def test_token_count_limit() -> None:
    check(b"[1,2]", [E(JSON_TOKEN_COUNT_LIMIT)], max_token_count=4)
    check(b"[1]", [[1]], max_token_count=4)
    check(b"[1,2] 3 ", [E(JSON_TOKEN_COUNT_LIMIT), 3], max_token_count=4)


def test_whole_state_resets_after_an_error() -> None:
    s = JSONStreamer()
    assert s.feed(b'{"a": [1, 2') == []
    assert s.feed(b"\x01") == [stray("\x01")]
    # The lexer is in error recovery until a structural or control byte.
    assert not s.is_idle()
    assert s.feed(b"abc") == []
    assert s.feed(b'{"b": 1}') == [{"b": 1}]


def test_reset() -> None:
    s = JSONStreamer()
    assert s.feed(b'{"a": "xy') == []
    s.reset()
    assert s.feed(b'{"b": 1}') == [{"b": 1}]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[1", [E(JSON_PREMATURE_EOI)]),
        (b'{"a"', [E(JSON_PREMATURE_EOI)]),
        (b'{"a":', [E(JSON_PREMATURE_EOI)]),
        (b"[1,", [E(JSON_PREMATURE_EOI)]),
        (b'"abc', [stray('"abc')]),
        (b"12", [12]),
        (b"1.5e", [stray("1.5e")]),
        (b"-", [stray("-")]),
        (b"tru", [keyword("tru")]),
        (b"[tru", [E("JSON parse error, invalid keyword 'tru'")]),
        (b"", []),
        (b" ", []),
        (b"\x80abc", [stray("\udc80")]),
    ],
)
def test_flush(data: bytes, expected: list[object]) -> None:
    for fast in (True, False):
        s = JSONStreamer(fast=fast)
        got = s.feed(data) + s.flush()
        assert [canon(x) for x in got] == [canon(x) for x in expected]
        assert s.is_idle()


def test_duplicate_keys_compare_decoded_strings() -> None:
    check(b'{"\\u0041":1,"A":2}', [E(JSON_DUPLICATE_KEY)])
    check(b'{"\\u0000":1,"\xc0\x80":2}', [E(JSON_DUPLICATE_KEY)])
    check(b'{"a":{"b":1},"b":{"a":1}}', [{"a": {"b": 1}, "b": {"a": 1}}])


def test_dict_keeps_input_order() -> None:
    [got] = run(b'{"z":1,"a":2,"m":{"y":1,"b":2}}')
    assert isinstance(got, dict)
    assert list(got) == ["z", "a", "m"]
    assert list(got["m"]) == ["y", "b"]


def test_fast_path_takes_ordinary_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_exact(*args: object, **kwargs: object) -> int:
        raise AssertionError("exact engine used")

    s = JSONStreamer()
    monkeypatch.setattr(s, "_feed_exact", no_exact)
    data = b'{"execute":"query-version","id":1}\r\n{"execute": "x", "arguments": {"a": [1, 2.5]}}'
    assert s.feed(data) == [
        {"execute": "query-version", "id": 1},
        {"execute": "x", "arguments": {"a": [1, 2.5]}},
    ]
    assert canon(s.feed(b'[{"id": 18446744073709551616, "s": "\xc3\xa9\\n"}]')) == canon(
        [[{"id": 1.8446744073709552e19, "s": "é\n"}]]
    )


def test_fast_path_declines_what_python_would_accept() -> None:
    for data in [
        b'{"a":1,"a":2}',
        b'{"a":NaN}',
        b'{"a":-Infinity}',
        b'{"a":"\\ud800"}',
        b'{"a":"\\uffff"}',
        b'{"a":"\xef\xbf\xbf"}',
        b'{"a":"\xc0\x80"}',
        b'{"a":"\xfe"}',
    ]:
        got = run(data, fast=True)
        assert got == run(data, fast=False)
        assert got == [{"a": "\x00"}] if b"\xc0" in data else isinstance(got[0], JSONError)


def test_line_tier_takes_a_request_alone_on_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    s = JSONStreamer()
    monkeypatch.setattr(s, "_try_fast", lambda *a: pytest.fail("json tier used"))
    monkeypatch.setattr(s, "_feed_exact", lambda *a, **k: pytest.fail("exact engine used"))
    data = b'{"execute": "device_add", "arguments": {"id": "d:1", "size": 1073741824}}\r\n'
    assert s.feed(data) == [
        {"execute": "device_add", "arguments": {"id": "d:1", "size": 1073741824}}
    ]


@pytest.mark.parametrize(
    "data",
    [
        b'{"a:": 1, "a:": 2}\n',  # duplicate keys holding the separator
        b'{"a": {"b": 1, "b": 1}, "c": ":"}\n',
        b'{"a": 1.5}\n',  # fractions are left to the json tier
        b'{"a": 1e3}\n',
        b'{"a": 18446744073709551616}\n',  # beyond uint64: a float in QEMU
        b'{"a": -9223372036854775809}\n',
        b'{"a": "\\u003a"}\n',  # an escaped ":"
        b'{"a": "\xc3\xa9"}\n',
        b'{"a":\n1}\n',
        b'{"a": 1}\n{"b": 2}\n',
        b'{"a": 1} {"b": 2}\n',
        b"[1, 2]]\n",
        b'{"a": NaN}\n',
        b'{"a": -Infinity}\n',
        b'{"a": [1, 2] ]}\n',
        b'{"a": "tab\there"}\n',  # a control character in a string
        b'{"a": 01}\n',
        b'{"a": 1}x\n',
        b'{"a": true, "a": true}\n',
        b"{'a': 1}\n",
    ],
)
def test_line_tier_changes_nothing(data: bytes) -> None:
    with mock.patch.object(framing, "_line_tier", False):
        without = [canon(x) for x in JSONStreamer().feed(data)]
    assert [canon(x) for x in JSONStreamer().feed(data)] == without
    assert [canon(x) for x in JSONStreamer(fast=False).feed(data)] == without


# --- Differential tests: fast path and chunking change nothing ----------------
_PIECES = [
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b'"',
    b"'",
    b"\\",
    b" ",
    b"\n",
    b"\t",
    b"\r",
    b"0",
    b"1",
    b"-",
    b".",
    b"e",
    b"E",
    b"+",
    b"9" * 19,
    b"18446744073709551616",
    b"true",
    b"null",
    b"fals",
    b"NaN",
    b"%d",
    b"u",
    b"\\u",
    b"\\u00e9",
    b"\\uD83D",
    b"\\uDE00",
    b"\\uFFFE",
    b"\\u0000",
    b'\\"',
    b"\\'",
    b"\x00",
    b"\x01",
    b"\x7f",
    b"\x80",
    b"\xc0\x80",
    b"\xc3\xa9",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xef\xbf\xbe",
    b"\xf0\x9f\x98\x80",
    b"\xfe",
    b"\xff",
    b'"execute"',
    b'"query-status"',
    b'{"execute":"query-version","id":1}',
    b'"id"',
    b"x",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def valid_json_stream(draw: st.DrawFn) -> bytes:
    parts = []
    for value in draw(st.lists(json_values, min_size=1, max_size=4)):
        text = json.dumps(
            value,
            ensure_ascii=draw(st.booleans()),
            separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")])),
        )
        parts.append(text.encode("utf-8", "surrogatepass"))
        parts.append(draw(st.sampled_from([b"", b" ", b"\n", b"\r\n", b"\t"])))
    return b"".join(parts)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.integers(0, 2))
        piece = draw(st.sampled_from(_PIECES))
        if op == 0:
            data[pos:pos] = piece
        elif op == 1:
            del data[pos : pos + len(piece)]
        else:
            data[pos : pos + len(piece)] = piece
    return bytes(data)


inputs = (
    st.lists(st.sampled_from(_PIECES), max_size=30).map(b"".join)
    | st.binary(max_size=40)
    | valid_json_stream()
    | mutated(valid_json_stream())
)
limits = st.fixed_dictionaries(
    {},
    optional={
        "max_token_size": st.integers(1, 64),
        "max_token_count": st.integers(1, 16),
        "max_nesting": st.integers(0, 4),
    },
)


def _feed_chunked(s: JSONStreamer, data: bytes, cuts: list[int]) -> list[object]:
    out: list[object] = []
    prev = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        out += s.feed(data[prev:cut])
        prev = cut
    return [*out, "<flush>", *s.flush()]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=inputs,
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
    lim=limits,
    push=st.booleans(),
)
def test_fast_path_and_chunking_change_nothing(
    data: bytes, cuts: list[int], lim: dict[str, int], push: bool
) -> None:
    # push: 11.1's parser, whose errors carry positions the fast path and
    # the chunking must keep.
    reference = _feed_chunked(JSONStreamer(fast=False, push=push, **lim), data, [])
    for fast in (True, False):
        got = _feed_chunked(JSONStreamer(fast=fast, push=push, **lim), data, cuts)
        assert [canon(x) for x in got] == [canon(x) for x in reference]
    # The fast path without its line tier.
    with mock.patch.object(framing, "_line_tier", False):
        got = _feed_chunked(JSONStreamer(push=push, **lim), data, cuts)
    assert [canon(x) for x in got] == [canon(x) for x in reference]


# QEMU 11.1's answers (seen live, each input on a fresh connection, then a
# request that shows whether the parser recovered: "ok" when it is parsed).
PUSH_CASES: list[tuple[bytes, list[str]]] = [
    (
        b"not json\n",
        [
            "1:1: JSON parse error, invalid keyword 'not'",
            "1:5: JSON parse error, invalid keyword 'json'",
            "ok",
        ],
    ),
    (
        b'{"execute": query-status}',
        [
            "1:13: JSON parse error, invalid keyword 'query'",
            "1:26: JSON parse error, expecting value",
            "ok",
        ],
    ),
    (
        b'{"execute": "x" %}',
        ["1:17: JSON parse error, stray '%'", "1:19: JSON parse error, expecting value", "ok"],
    ),
    (
        b'{"a": x %, {',
        [
            "1:7: JSON parse error, invalid keyword 'x'",
            "1:11: JSON parse error, expecting value",
            "2:1: JSON parse error, expecting key",
        ],
    ),
    (b'{"a":1 "b":2}', ["1:8: JSON parse error, expected ',' or '}'", "ok"]),
    (b"[1 2 3]", ["1:4: JSON parse error, expected ',' or ']'", "ok"]),
    (b'{"a" 1}', ["1:6: JSON parse error, expecting ':'", "ok"]),
    (b"{1:2}", ["1:2: JSON parse error, expecting key", "ok"]),
    (
        b"]]]",
        [
            "1:1: JSON parse error, expecting value",
            "1:2: JSON parse error, expecting value",
            "1:3: JSON parse error, expecting value",
            "ok",
        ],
    ),
    (b"[{]", ["1:3: JSON parse error, expecting key"]),
    (
        b"[[1}]",
        [
            "1:5: JSON parse error, expected ',' or ']'",
            "1:5: JSON parse error, expecting value",
            "ok",
        ],
    ),
    (
        b'{"a":[1}]}',
        [
            "1:9: JSON parse error, expected ',' or ']'",
            "1:10: JSON parse error, expecting value",
            "ok",
        ],
    ),
    (b'{"a":[1}}', ["1:9: JSON parse error, expected ',' or ']'", "ok"]),
    (b'[{"a":1]]', ["1:9: JSON parse error, expected ',' or '}'", "ok"]),
    (b'{"a":1,"a":[1,2]}', ["1:17: JSON parse error, duplicate key", "ok"]),
    (b'["\xc3\xa9", x]', ["1:8: JSON parse error, invalid keyword 'x'", "ok"]),
    (b"  \n  {x", ["2:4: JSON parse error, expecting key"]),
    (
        b"[TRUE]",
        ["1:2: JSON parse error, stray 'T'", "1:7: JSON parse error, expecting value", "ok"],
    ),
    (
        b'["' + b"a" * 2000 + b"\x01",
        ["1:2: JSON parse error, " + ("stray '\"" + "a" * 2000)[:1023], "ok"],
    ),
    (b"[" * 1025, ["JSON nesting depth limit exceeded"]),
]


@pytest.mark.parametrize(
    ("data", "expected"), PUSH_CASES, ids=[repr(c[0][:20]) for c in PUSH_CASES]
)
def test_push_parser_as_qemu_11_1(data: bytes, expected: list[str]) -> None:
    probe = b'\n{"execute":"ok"}'
    for fast in (True, False):
        for chunk in (None, 1, 5):
            s = JSONStreamer(push=True, fast=fast)
            stream = data + probe
            pieces = (
                [stream]
                if chunk is None
                else [stream[i : i + chunk] for i in range(0, len(stream), chunk)]
            )
            got: list[object] = []
            for piece in pieces:
                got += s.feed(piece)
            descs = ["ok" if x == {"execute": "ok"} else getattr(x, "desc", x) for x in got]
            assert descs == expected, (fast, chunk)


def test_push_parser_premature_end_of_input() -> None:
    # qobject_from_json(): the end of input is a token, one column past the
    # flush's NUL when a token was taken by lookahead.
    for text, desc in (
        (b'{"a":', "1:6: JSON parse error, premature end of input"),
        (b'{"a"  ', "1:7: JSON parse error, premature end of input"),
        (b'{"a": 1', "1:9: JSON parse error, premature end of input"),
    ):
        s = JSONStreamer(push=True, fast=False)
        assert s.feed(text) == []
        assert s.flush() == [JSONError(desc)]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(json_values, min_size=1, max_size=5))
def test_valid_json_round_trips(values: list[object]) -> None:
    data = b"\n".join(json.dumps(v).encode() for v in values) + b"\n"
    expected = [json.loads(json.dumps(v)) for v in values]
    for fast in (True, False):
        got = JSONStreamer(fast=fast).feed(data)
        assert len(got) == len(values)
        for g, v in zip(got, expected, strict=True):
            if isinstance(g, JSONError):
                # Only QEMU's own rejections: noncharacters, lone surrogates.
                assert "Unicode" in g.desc or "UTF-8" in g.desc
            else:
                assert _equal_qemu_numbers(g, v)


def _equal_qemu_numbers(got: object, want: object) -> bool:
    if isinstance(want, bool) or want is None or isinstance(want, str):
        return got == want and type(got) is type(want)
    if isinstance(want, int):
        if -(2**63) <= want < 2**64:
            return type(got) is int and got == want
        return type(got) is float and got == float(want)
    if isinstance(want, float):
        return type(got) is float and canon(got) == canon(want)
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_equal_qemu_numbers(g, w) for g, w in zip(got, want, strict=True))
        )
    assert isinstance(want, dict)
    return (
        isinstance(got, dict)
        and list(got) == list(want)
        and all(_equal_qemu_numbers(got[k], want[k]) for k in want)
    )


def test_error_texts_are_qemus() -> None:
    # The constants another module will import; spelled as in QEMU.
    assert framing.JSON_NESTING_LIMIT == "JSON nesting depth limit exceeded"
    assert framing.JSON_TOKEN_SIZE_LIMIT == "JSON token size limit exceeded"
    assert framing.JSON_TOKEN_COUNT_LIMIT == "JSON token count limit exceeded"
    assert framing.JSON_STRAY.format("x") == "JSON parse error, stray 'x'"
    assert framing.MAX_TOKEN_SIZE == 64 << 20
    assert framing.MAX_TOKEN_COUNT == 2 << 20
    assert framing.MAX_NESTING == 1024
