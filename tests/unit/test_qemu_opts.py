"""Unit tests of memdevd.util.qemu_opts: QEMU's option-argument grammar and texts.

Expected values come from QEMU's sources and were checked against the real
7.2 and 10.0 binaries (tests/conformance/test_cli_syntax_live.py does that
continuously for the error texts).
"""

from __future__ import annotations

import string
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memdevd.app.cmdline_json import parse_keyval_or_json, qobject_from_json
from memdevd.releases.table import get_release
from memdevd.targets import options_table
from memdevd.targets.x86_64.cmdline import syntax
from memdevd.util.option_defs import Syntax
from memdevd.util.qemu_opts import (
    ChardevSpecError,
    Diagnostic,
    HelpRequested,
    KeyvalValue,
    NumberContext,
    OptDesc,
    OptionError,
    OptType,
    QemuOptsList,
    SizeContext,
    SizeError,
    escape_opt_value,
    format_error,
    get_opt_value,
    has_help_option,
    id_wellformed,
    keyval_merge,
    keyval_parse,
    monitor_parse,
    new_opts_lists,
    parse_bool,
    parse_int,
    parse_qapi_name,
    parse_size,
    parse_uint,
    qemu_chr_parse_compat,
    qemu_strtosz,
)

PROG = "qemu-system-x86_64"
# qemu-system-x86_64's command-line syntax of the two recorded releases.
QEMU_7_2 = syntax(get_release("7.2"))
QEMU_10_0 = syntax(get_release("10.0"))
BOTH = [QEMU_7_2, QEMU_10_0]
K, M, G, T, P, E = (1 << (10 * i) for i in range(1, 7))
SIZE_HINT = (
    "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
    "and exabytes, respectively.\n"
)


def size_outcome(text: str, release: Syntax) -> int | str:
    try:
        return parse_size(text, syntax=release)
    except SizeError as err:
        return err.kind


# ---------------------------------------------------------------------------
# sizes


@pytest.mark.parametrize(
    ("text", "v72", "v100"),
    [
        ("0", 0, 0),
        ("1", 1, 1),
        ("1G", G, G),
        ("1g", G, G),
        ("1b", 1, 1),
        ("1B", 1, 1),
        ("2k", 2 * K, 2 * K),
        ("2K", 2 * K, 2 * K),
        ("3M", 3 * M, 3 * M),
        ("4T", 4 * T, 4 * T),
        ("5P", 5 * P, 5 * P),
        ("15E", 15 * E, 15 * E),
        ("16E", "range", "range"),
        ("16Ek", "invalid", "invalid"),
        ("18446744073709551615", (1 << 64) - 1, (1 << 64) - 1),
        ("18446744073709551616", "range", "range"),
        ("18446744073709551616k", "invalid", "invalid"),
        ("1.5G", 3 * G // 2, 3 * G // 2),
        ("1.5k", 1536, 1536),
        ("1.5", "invalid", "invalid"),
        ("1.", 1, 1),
        ("1.k", K, K),
        ("1..", "invalid", "invalid"),
        (".5G", "invalid", G // 2),
        ("+.5G", "invalid", G // 2),
        ("-.5", "invalid", "range"),
        ("-.5G", "invalid", "invalid"),
        ("1.99999999999999999999G", G, 2 * G),
        ("1e3", "invalid", "invalid"),
        ("1.5e3G", "invalid", "invalid"),
        ("0x10", 16, 16),
        ("0X1f", 31, 31),
        ("0x10M", 16 * M, "invalid"),
        ("0x10k", 16 * K, "invalid"),
        ("0x10E", 0x10E, 0x10E),  # 'E' is a hex digit
        ("0x1.8", "invalid", "invalid"),
        ("0x", "invalid", "invalid"),
        ("0xfffffffffffffffff", "range", "range"),
        ("-1", "invalid", "range"),
        ("-0", "invalid", "range"),
        ("-1G", "invalid", "invalid"),
        (" 1G", G, G),
        ("\t7", 7, 7),
        ("1G ", "invalid", "invalid"),
        ("1 G", "invalid", "invalid"),
        ("", "invalid", "invalid"),
        ("1Q", "invalid", "invalid"),
        ("inf", "invalid", "invalid"),
        ("nan.", "invalid", "invalid"),
        ("010", 10, 10),  # octal is not a thing: decimal
        ("0.0000000000000000000000001G", 0, 0),
        # a fraction needs a scale; 7.2 truncates this one to zero first
        ("0.0000000000000000000000001", 0, "invalid"),
    ],
)
def test_parse_size_values(text: str, v72: int | str, v100: int | str) -> None:
    assert size_outcome(text, QEMU_7_2) == v72
    assert size_outcome(text, QEMU_10_0) == v100


def test_hex_suffix_warning_in_7_2_only() -> None:
    warnings: list[str] = []
    assert parse_size("0x10M", syntax=QEMU_7_2, warnings=warnings) == 16 * M
    assert warnings == ["Using a multiplier suffix on hex numbers is deprecated: 0x10M"]
    warnings.clear()
    with pytest.raises(SizeError):
        parse_size("0x10M", syntax=QEMU_10_0, warnings=warnings)
    assert warnings == []


def test_size_messages_per_context() -> None:
    with pytest.raises(SizeError) as exc:
        parse_size("1Q")
    assert exc.value.message == "Parameter 'size' expects a non-negative number below 2^64"
    assert exc.value.hint == SIZE_HINT
    with pytest.raises(SizeError) as exc:
        parse_size("16E", name="maxmem")
    assert exc.value.message == "Value '16E' is out of range for parameter 'maxmem'"
    assert exc.value.hint is None
    with pytest.raises(SizeError) as exc:
        parse_size("16E", name="memory.size", context=SizeContext.KEYVAL)
    assert exc.value.message == "Parameter 'memory.size' expects a size"
    with pytest.raises(SizeError) as exc:
        parse_size("x", name="size", context=SizeContext.OPTS_VISITOR)
    assert exc.value.message == "Parameter 'size' expects a size value"
    assert isinstance(exc.value, ValueError)


def test_strtosz_variants() -> None:
    assert qemu_strtosz("2", default_suffix="M") == (0, 2 * M)
    assert qemu_strtosz("1.5", default_suffix="M") == (0, 3 * M // 2)
    assert qemu_strtosz("1k", unit=1000) == (0, 1000)


SUFFIXES = {"": 1, "b": 1, "B": 1, "k": K, "K": K, "m": M, "M": M, "g": G, "G": G}
SUFFIXES |= {"t": T, "T": T, "p": P, "P": P, "e": E, "E": E}


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=(1 << 64) - 1),
    suffix=st.sampled_from(sorted(SUFFIXES)),
    release=st.sampled_from(BOTH),
)
def test_size_round_trip(n: int, suffix: str, release: Syntax) -> None:
    """N[suffix] is exactly N times the unit, or out of range from 2^64 on."""
    product = n * SUFFIXES[suffix]
    expected: int | str = product if product < (1 << 64) else "range"
    assert size_outcome(f"{n}{suffix}", release) == expected


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=0, max_value=(1 << 64) - 1), release=st.sampled_from(BOTH))
def test_hex_size_round_trip(n: int, release: Syntax) -> None:
    assert size_outcome(f"0x{n:x}", release) == n
    assert size_outcome(f"  {n}", release) == n


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=1 << 20),
    frac=st.integers(min_value=0, max_value=999),
    suffix=st.sampled_from(["k", "M", "G", "T"]),
    release=st.sampled_from(BOTH),
)
def test_fraction_with_suffix(whole: int, frac: int, suffix: str, release: Syntax) -> None:
    """w.fff{suffix}: within one unit of the exact value (QEMU goes through a double)."""
    unit = SUFFIXES[suffix]
    got = parse_size(f"{whole}.{frac:03d}{suffix}", syntax=release)
    exact = whole * unit + Fraction(frac * unit, 1000)
    assert abs(got - exact) <= 1


# ---------------------------------------------------------------------------
# numbers and booleans


def test_parse_uint_qemu_opts() -> None:
    assert parse_uint("16", name="slots") == 16
    assert parse_uint("0x10", name="slots") == 16
    assert parse_uint("010", name="slots") == 8  # base 0: octal
    assert parse_uint(" 5", name="slots") == 5
    assert parse_uint("-1", name="slots") == (1 << 64) - 1  # strtoull wraps
    with pytest.raises(OptionError, match=r"^Parameter 'slots' expects a number$"):
        parse_uint("5 ", name="slots")
    with pytest.raises(OptionError, match=r"^Parameter 'slots' expects a number$"):
        parse_uint("0x", name="slots")
    with pytest.raises(OptionError) as exc:
        parse_uint("18446744073709551616", name="slots")
    assert exc.value.message == "Value '18446744073709551616' is too large for parameter 'slots'"


def test_parse_numbers_visitors() -> None:
    assert parse_uint("7", name="x", context=NumberContext.KEYVAL) == 7
    with pytest.raises(OptionError, match=r"^Parameter 'a.b' expects integer$"):
        parse_uint("x", name="a.b", context=NumberContext.KEYVAL)
    with pytest.raises(OptionError, match=r"^Parameter 'n' expects a uint64 value$"):
        parse_uint("-1", name="n", context=NumberContext.OPTS_VISITOR)
    assert parse_int("-0x10", name="n") == -16
    with pytest.raises(OptionError, match=r"^Parameter 'n' expects integer$"):
        parse_int("9223372036854775808", name="n")
    with pytest.raises(OptionError, match=r"^Parameter 'n' expects an int64 value$"):
        parse_int("1x", name="n", context=NumberContext.OPTS_VISITOR)


@pytest.mark.parametrize(("text", "value"), [("on", True), ("yes", True), ("true", True)])
def test_parse_bool_true(text: str, value: bool) -> None:
    assert parse_bool(text, name="x") is value
    assert parse_bool("y", name="x") is True
    for word in ("off", "no", "false", "n"):
        assert parse_bool(word, name="x") is False


@pytest.mark.parametrize("text", ["ON", "1", "0", "", "On", "enabled"])
def test_parse_bool_rejects(text: str) -> None:
    with pytest.raises(OptionError) as exc:
        parse_bool(text, name="share")
    assert exc.value.message == "Parameter 'share' expects 'on' or 'off'"


def test_identifiers_and_names() -> None:
    assert id_wellformed("d0") and id_wellformed("a-b.c_d")
    assert not id_wellformed("0d") and not id_wellformed("") and not id_wellformed("a b")
    assert parse_qapi_name("sgx-epc.0", False) == 7
    assert parse_qapi_name("__com.redhat_x", True) == 14
    assert parse_qapi_name("_x", False) == -1
    assert parse_qapi_name("1a", False) == -1


# ---------------------------------------------------------------------------
# QemuOpts


def memory_list(release: Syntax = QEMU_10_0) -> QemuOptsList:
    return new_opts_lists(release)["memory"]


def test_implied_key_and_typed_values() -> None:
    opts = memory_list().parse_noisily("1G,slots=4,maxmem=8G", True)
    assert opts.items() == [("size", "1G"), ("slots", "4"), ("maxmem", "8G")]
    assert opts.get_size("size", 0) == G
    assert opts.get_number("slots", 0) == 4
    assert opts.get_size("maxmem", 0) == 8 * G
    assert opts.get("nothing") is None


def test_explicit_first_key_and_escaping() -> None:
    lists = new_opts_lists(QEMU_10_0)
    opts = lists["device"].parse_noisily("driver=pc-dimm,id=d0,memdev=m,,0", True)
    assert opts.id == "d0"
    assert opts.items() == [("driver", "pc-dimm"), ("memdev", "m,0")]
    assert opts.to_dict() == {"id": "d0", "driver": "pc-dimm", "memdev": "m,0"}
    assert opts.to_params() == "id=d0,driver=pc-dimm,memdev=m,,0"


def test_doubled_comma_in_implied_value_still_finds_id() -> None:
    # opts_parse_id() scans without the implied key: ",," splits there.
    opts = new_opts_lists(QEMU_10_0)["device"].parse_noisily("a,,id=x", True)
    assert opts.id == "x"
    assert opts.items() == [("driver", "a,id=x")]


def test_merge_lists_last_wins() -> None:
    lst = memory_list()
    first = lst.parse_noisily("1G", True)
    second = lst.parse_noisily("2G,slots=2", True)
    assert first is second
    assert second.get("size") == "2G"
    assert second.get_all("size") == ["1G", "2G"]
    with pytest.raises(OptionError, match=r"^Invalid parameter 'id'$"):
        lst.parse_noisily("size=1G,id=x", True)


def test_short_form_booleans_warn() -> None:
    warnings: list[Diagnostic] = []
    opts = new_opts_lists(QEMU_10_0)["chardev"].parse_noisily(
        "socket,id=c,server,nowait,nodelay", True, warnings=warnings
    )
    assert opts.get("server") == "on" and opts.get("wait") == "off"
    assert opts.get("delay") == "off"
    assert [(w.kind, w.message, w.hint) for w in warnings] == [
        (
            "warning",
            "short-form boolean option 'server' deprecated",
            "Please use server=on instead\n",
        ),
        (
            "warning",
            "short-form boolean option 'nowait' deprecated",
            "Please use wait=off instead\n",
        ),
        (
            "warning",
            "short-form boolean option 'nodelay' deprecated",
            "Please use nodelay=on instead\n",
        ),
    ]


def test_quiet_parse_has_no_flag_warnings_and_help_is_a_key() -> None:
    warnings: list[Diagnostic] = []
    opts = new_opts_lists(QEMU_10_0)["device"].parse("pc-dimm,help", True, warnings=warnings)
    assert warnings == []
    assert opts.has_help_opt()
    assert has_help_option("a,?") and not has_help_option("a,helpme")


def test_errors_carry_preceding_warnings() -> None:
    with pytest.raises(OptionError) as exc:
        memory_list().parse_noisily("1G,foo", True)
    err = exc.value.at("-m 1G,foo")
    assert format_error(PROG, err) == (
        f"{PROG}: -m 1G,foo: warning: short-form boolean option 'foo' deprecated\n"
        "Please use foo=on instead\n"
        f"{PROG}: -m 1G,foo: Invalid parameter 'foo'\n"
    )


def test_noisy_help_for_lists_with_desc() -> None:
    with pytest.raises(HelpRequested) as exc:
        memory_list().parse_noisily("1G,help", True)
    assert exc.value.exit_status == 1
    assert exc.value.text == "memory options:\n  maxmem=<size>\n  size=<size>\n  slots=<num>\n"
    # An implied value "help" is just a value.
    with pytest.raises(SizeError):
        memory_list().parse_noisily("help", True)


def test_help_text_with_descriptions() -> None:
    text = new_opts_lists(QEMU_10_0)["name"].print_help()
    assert text.startswith("name options:\n  debug-threads=<bool (on/off)> - When enabled")
    empty = QemuOptsList("x", desc=()).print_help()
    assert empty == "There are no options for x.\n"


def test_ids() -> None:
    lst = new_opts_lists(QEMU_10_0)["device"]
    lst.parse_noisily("pc-dimm,id=d0", True)
    with pytest.raises(OptionError, match=r"^Duplicate ID 'd0' for device$"):
        lst.parse_noisily("pc-dimm,id=d0", True)
    with pytest.raises(OptionError) as exc:
        lst.parse_noisily("pc-dimm,id=0d", True)
    assert exc.value.message == "Parameter 'id' expects an identifier"
    assert exc.value.hint == (
        "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"
    )
    # a failed parse leaves no group behind, so the id is free again
    with pytest.raises(OptionError):
        new_opts_lists(QEMU_10_0)["chardev"].parse_noisily("null,id=c,bogus=1", True)


def test_failed_parse_frees_the_id() -> None:
    lst = new_opts_lists(QEMU_10_0)["chardev"]
    with pytest.raises(OptionError):
        lst.parse_noisily("null,id=c,bogus=1", True)
    assert lst.parse_noisily("null,id=c", True).id == "c"


def test_caller_defined_list_validates_types() -> None:
    lst = QemuOptsList(
        "demo",
        implied_opt_name="mode",
        desc=[
            OptDesc("mode"),
            OptDesc("share", OptType.BOOL, def_value_str="off"),
            OptDesc("count", OptType.NUMBER),
            OptDesc("size", OptType.SIZE),
        ],
    )
    opts = lst.parse_noisily("fast,share=on,count=0x10,size=1M", True)
    assert (opts.get_bool("share", False), opts.get_number("count", 0)) == (True, 16)
    assert opts.get_size("size", 0) == M
    assert lst.parse_noisily("x", True).get_bool("share", True) is False  # default
    for params, message in [
        ("x,share=maybe", "Parameter 'share' expects 'on' or 'off'"),
        ("x,count=many", "Parameter 'count' expects a number"),
        ("x,size=big", "Parameter 'size' expects a non-negative number below 2^64"),
        ("x,other=1", "Invalid parameter 'other'"),
    ]:
        with pytest.raises(OptionError) as exc:
            lst.parse_noisily(params, True)
        assert exc.value.message == message


def test_validate_accept_any_list() -> None:
    opts = new_opts_lists(QEMU_10_0)["accel"].parse_noisily("tcg,thread=multi", True)
    opts.validate([OptDesc("accel"), OptDesc("thread")])
    with pytest.raises(OptionError, match=r"^Invalid parameter 'thread'$"):
        opts.validate([OptDesc("accel")])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable + "äß€", max_size=20))
def test_get_opt_value_escaping_round_trip(value: str) -> None:
    escaped = escape_opt_value(value)
    assert get_opt_value(escaped + ",next=1") == (value, len(escaped))


KEYS = st.text(alphabet="abcdefghijklmopqrstuvwxyz-", min_size=1, max_size=8).filter(
    lambda k: k != "id"
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(KEYS, st.text(alphabet=string.printable, max_size=12)), max_size=6))
def test_key_value_list_round_trip(items: list[tuple[str, str]]) -> None:
    params = ",".join(f"{k}={escape_opt_value(v)}" for k, v in items)
    opts = QemuOptsList("any").parse_noisily(params)
    assert opts.items() == items


# ---------------------------------------------------------------------------
# keyval


def test_keyval_nesting_lists_and_implied_key() -> None:
    result = keyval_parse("pc,memory.size=1G,sgx-epc.0.memdev=m0,sgx-epc.1.memdev=m1", "type")
    assert result.values == {
        "type": "pc",
        "memory": {"size": "1G"},
        "sgx-epc": [{"memdev": "m0"}, {"memdev": "m1"}],
    }
    assert not result.help
    assert keyval_parse("a=x,,y,a=z").values == {"a": "z"}
    assert keyval_parse("help", "type").help
    assert keyval_parse("pc,?", "type").help


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("pc,foo", "Expected '=' after parameter 'foo'"),
        ("pc,=1", "Invalid parameter ''"),
        ("pc,,x", "Invalid parameter ''"),
        ("pc,1a=2", "Invalid parameter '1a'"),
        ("pc,a.1b=2", "Invalid parameter 'a.1b'"),
        ("pc,a b=2", "Invalid parameter 'a b'"),
        ("pc,a.b=1,a=2", "Parameters 'a.*' used inconsistently"),
        ("pc,a=1,a.b=2", "Parameters 'a.*' used inconsistently"),
        ("pc,s.0.m=a,s.2.m=b", "Parameter 's.1' missing"),
        ("pc,s.1.m=b", "Parameter 's.0' missing"),
        ("pc,s.0.m=a,s.x=1", "Parameters 's.*' used inconsistently"),
        ("pc," + "k" * 128 + "=1", "Parameter '" + "k" * 128 + "' is too long"),
        ("pc,a." + "k" * 128 + "=1", "Parameter fragment '" + "k" * 128 + "' is too long"),
    ],
)
def test_keyval_errors(params: str, message: str) -> None:
    with pytest.raises(OptionError) as exc:
        keyval_parse(params, "type")
    assert exc.value.message == message


def test_keyval_into_accumulates_like_machine() -> None:
    machine: dict[str, KeyvalValue] = {}
    keyval_parse("pc,a.b=1", "type", into=machine)
    keyval_parse("a.c=2", "type", into=machine)
    assert machine == {"type": "pc", "a": {"b": "1", "c": "2"}}
    keyval_parse("s.0.m=x", "type", into=machine)
    with pytest.raises(OptionError, match=r"Parameters 's\.\*' used inconsistently"):
        keyval_parse("s.1.m=y", "type", into=machine)
    with pytest.raises(OptionError, match=r"^Help is not available for this option$"):
        keyval_parse("help", help_allowed=False)


def test_keyval_merge() -> None:
    dest: dict[str, KeyvalValue] = {"memory": {"size": "1G"}, "l": ["a"]}
    keyval_merge(dest, {"memory": {"slots": "2"}, "l": ["b"], "type": "pc"})
    assert dest == {"memory": {"size": "1G", "slots": "2"}, "l": ["a", "b"], "type": "pc"}
    with pytest.raises(OptionError, match=r"^Parameter 'memory.size' used inconsistently$"):
        keyval_merge(dest, {"memory": {"size": {"x": "1"}}})


NAMES = st.text(alphabet="abcxyz", min_size=1, max_size=4)
TREES = st.recursive(
    st.text(alphabet=string.ascii_letters + ",=. ", max_size=6),
    lambda children: st.dictionaries(NAMES, children, min_size=1, max_size=3),
    max_leaves=8,
)


def flatten(prefix: str, tree: object, out: list[str]) -> None:
    if isinstance(tree, dict):
        for key, value in tree.items():
            flatten(f"{prefix}{key}.", value, out)
    else:
        assert isinstance(tree, str)
        out.append(f"{prefix[:-1]}={tree.replace(',', ',,')}")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(NAMES, TREES, min_size=1, max_size=4))
def test_keyval_round_trip(tree: dict[str, object]) -> None:
    items: list[str] = []
    flatten("", tree, items)
    assert keyval_parse(",".join(items)).values == tree


def test_parse_keyval_or_json() -> None:
    assert parse_keyval_or_json("none,gl=off", "type") == ({"type": "none", "gl": "off"}, False)
    assert parse_keyval_or_json('{"type": "none"}', "type") == ({"type": "none"}, True)


# ---------------------------------------------------------------------------
# JSON


def test_json_values() -> None:
    value = qobject_from_json(
        "{'qom-type': 'memory-backend-ram', \"size\": 1073741824, \"x\": [1.5, -3, true, "
        'false, null, 18446744073709551615, 18446744073709551616, "\\u00e9\\ud83d\\ude00\\/"]}'
    )
    assert value == {
        "qom-type": "memory-backend-ram",
        "size": 1073741824,
        "x": [1.5, -3, True, False, None, (1 << 64) - 1, float(1 << 64), "é😀/"],
    }
    assert qobject_from_json(' {"a": "\\u0000"} ') == {"a": "\0"}
    assert qobject_from_json('"top"') == "top"
    assert list(qobject_from_json('{"b": 1, "a": 2}')) == ["b", "a"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "JSON parse error, premature EOI"),
        ("", "Expecting a JSON value"),
        ('{"a":1} x', "Expecting at most one JSON value"),
        ("{}{}", "Expecting at most one JSON value"),
        ('{"a":1}}', "Expecting at most one JSON value"),
        ('{"a":x}', "JSON parse error, invalid keyword 'x'"),
        ('{"a":1,}', "JSON parse error, expecting value"),
        ('{"a" 1}', "JSON parse error, missing : in object pair"),
        ('{"a":1 "b":2}', "JSON parse error, expected separator in dict"),
        ("{1:2}", "JSON parse error, key is not a string in object"),
        ('{"a":1,"a":2}', "JSON parse error, duplicate key"),
        ('{"a":"\\q"}', "JSON parse error, invalid escape sequence in string"),
        ('{"a":"\\uD800"}', "JSON parse error, \\uD800 is not a valid Unicode character"),
        ('{"a":"\\u12"}', 'JSON parse error, \\u12" is not a valid Unicode character'),
        ('{"a":[1 2]}', "JSON parse error, expected separator in list"),
        ('{"a":[1,]}', "JSON parse error, expecting value"),
        ("{@}", "JSON parse error, stray '@'"),
        ('{"a":"b\x01"}', "JSON parse error, stray '\"b\x01'"),
        ('{"a":01}', "JSON parse error, stray '01'"),
        ('{"a":"\udcff"}', "JSON parse error, stray '\"\udcff'"),
        ('{"a":"\udcc1\udc81"}', "JSON parse error, invalid UTF-8 sequence in string"),
        ('{"a":' + "[" * 1024 + "]" * 1024 + "}", "JSON nesting depth limit exceeded"),
    ],
)
def test_json_errors(text: str, message: str) -> None:
    with pytest.raises(OptionError) as exc:
        qobject_from_json(text)
    assert exc.value.message == message


# ---------------------------------------------------------------------------
# chardev specs and -qmp


def test_chardev_compat_specs() -> None:
    lists = new_opts_lists(QEMU_10_0)
    opts = qemu_chr_parse_compat("c0", "unix:/run/q.sock,server=on,wait=off", lists)
    assert opts.to_dict() == {
        "id": "c0",
        "backend": "socket",
        "path": "/run/q.sock",
        "server": "on",
        "wait": "off",
    }
    opts = qemu_chr_parse_compat("c1", "tcp:localhost:4444,server=on", lists)
    assert opts.items() == [
        ("backend", "socket"),
        ("host", "localhost"),
        ("port", "4444"),
        ("server", "on"),
    ]
    assert qemu_chr_parse_compat("c2", "telnet::23", lists).get("telnet") == "on"
    opts = qemu_chr_parse_compat("c3", "mon:stdio", lists)
    assert opts.items() == [("mux", "on"), ("signal", "off"), ("backend", "stdio")]
    assert qemu_chr_parse_compat("c4", "vc:80Cx24C", lists).get("cols") == "80"


def test_chardev_pty_path_is_10_0_only() -> None:
    assert (
        qemu_chr_parse_compat("p", "pty:/tmp/x", new_opts_lists(QEMU_10_0)).get("path") == "/tmp/x"
    )
    with pytest.raises(ChardevSpecError) as exc:
        qemu_chr_parse_compat("p", "pty:/tmp/x", new_opts_lists(QEMU_7_2))
    assert exc.value.message == "'pty:/tmp/x' is not a valid char driver"


def test_monitor_parse_errors() -> None:
    lists = new_opts_lists(QEMU_10_0)
    with pytest.raises(OptionError) as exc:
        monitor_parse("foo:bar", lists)
    assert format_error(PROG, exc.value.at("-qmp foo:bar")) == (
        f"{PROG}: -qmp foo:bar: 'foo:bar' is not a valid char driver\n"
        f"{PROG}: -qmp foo:bar: parse error: foo:bar\n"
    )
    with pytest.raises(OptionError) as exc:
        monitor_parse("tcp:1", lists)
    assert format_error(PROG, exc.value.at("-qmp tcp:1")) == (
        f"{PROG}: -qmp tcp:1: parse error: tcp:1\n"
    )
    mon = monitor_parse("unix:/s,server=on,wait=off", lists, device_index=0)
    assert mon.to_dict() == {
        "id": "compat_monitor0",
        "mode": "control",
        "chardev": "compat_monitor0",
        "pretty": "off",
    }
    long_id = "x" * 40
    assert monitor_parse(f"chardev:{long_id}", lists).id == "x" * 31
    with pytest.raises(OptionError, match=f"^Duplicate ID '{'x' * 31}' for mon$"):
        monitor_parse(f"chardev:{long_id}", lists)


# ---------------------------------------------------------------------------
# layout and releases


def test_format_error_layout() -> None:
    err = SizeError(
        "Parameter 'size' expects a non-negative number below 2^64", SIZE_HINT, kind="invalid"
    )
    assert format_error(PROG, err.at("-m 1Q")) == (
        f"{PROG}: -m 1Q: Parameter 'size' expects a non-negative number below 2^64\n" + SIZE_HINT
    )
    assert format_error(PROG, OptionError("no location")) == f"{PROG}: no location\n"
    assert format_error("memdevd", Diagnostic("w", kind="warning", location="-x")) == (
        "memdevd: -x: warning: w\n"
    )


def test_profiles() -> None:
    # 8.2 (source only) parses with 10.0's tables and its own rules.
    assert syntax(get_release("7.2")).options is options_table.OPTIONS_7_2
    assert syntax(get_release("8.2")).options is options_table.OPTIONS_10_0
    assert syntax(get_release("8.2")).strtosz_2023 and not QEMU_7_2.strtosz_2023
    with pytest.raises(KeyError):
        get_release("6.0")
    assert "run-with" in new_opts_lists(QEMU_10_0)
    assert "run-with" not in new_opts_lists(QEMU_7_2)
