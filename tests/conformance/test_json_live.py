"""Live: real QEMU's JSON reading and writing vs memdevd's framing + encoder.

Starts QEMU 7.2 and 10.0 (and 11.1, whose push parser locates its errors),
sends a battery of raw byte inputs on one QMP connection, and checks that
every reply line is byte for byte what ``encode(predicted reply)`` gives,
where the predicted replies come from
:class:`~memdevd.qmp.framing.JSONStreamer` fed the same bytes plus the few
rules of ``qmp_dispatch()`` before capabilities negotiation (reproduced in
:func:`negotiation_reply`).  The token size and count limits (64 MiB, 2M
tokens) are left to the unit tests; the nesting limit is checked here.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from memdevd.qapi.json_writer import encode
from memdevd.qapi.qdict import qdict_key_order
from memdevd.qmp.framing import JSONError, JSONStreamer
from memdevd.releases.table import get_release

# tests/ has no package or conftest of its own; make tests/live_qemu.py
# importable wherever pytest is started from.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, QemuProcess, qemu_binary, qemu_binary_candidate, run_qemu

pytestmark = pytest.mark.live_qemu

NEGOTIATION = "Expecting capabilities negotiation with 'qmp_capabilities'"
REPLY_TIMEOUT = 3.0


def negotiation_reply(item: object, *, negotiated: bool = False) -> dict[str, object]:
    """What qmp_dispatch()/monitor_qmp_dispatch() answer to one parsed input."""
    if isinstance(item, JSONError):
        # qmp_error_response(): no id, the request never was a dict.
        return {"error": {"class": "GenericError", "desc": item.desc}}
    if not isinstance(item, dict):
        return {"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}
    error = None
    has_execute = False
    # qmp_dispatch_check_obj() visits the members in QDict order.
    for key in qdict_key_order(item):
        value = item[key]
        if key == "execute":
            if not isinstance(value, str):
                error = f"QMP input member '{key}' must be a string"
                break
            has_execute = True
        elif key == "arguments":
            if not isinstance(value, dict):
                error = "QMP input member 'arguments' must be an object"
                break
        elif key != "id":
            # "exec-oob" too: out-of-band is not enabled.
            error = f"QMP input member '{key}' is unexpected"
            break
    if error is None and not has_execute:
        error = "QMP input lacks member 'execute'"
    rsp: dict[str, object]
    if error is not None:
        rsp = {"error": {"class": "GenericError", "desc": error}}
    elif item["execute"] == "qmp_capabilities" and not negotiated:
        rsp = {"return": {}}
    elif negotiated:
        desc = f"The command {item['execute']} has not been found"
        rsp = {"error": {"class": "CommandNotFound", "desc": desc}}
    else:
        rsp = {"error": {"class": "CommandNotFound", "desc": NEGOTIATION}}
    if "id" in item:
        rsp["id"] = item["id"]
    return rsp


def ids(*literals: bytes) -> list[tuple[str, list[bytes]]]:
    return [
        (f"id {lit[:40]!r}", [b'{"execute":"query-status","id":' + lit + b"}"]) for lit in literals
    ]


def one(*inputs: bytes) -> list[tuple[str, list[bytes]]]:
    return [(repr(data[:50]), [data]) for data in inputs]


_MANY_KEYS = b"{" + b",".join(b'"key%d":%d' % (i, i) for i in range(40)) + b"}"

CASES: list[tuple[str, list[bytes]]] = [
    # The oracle cases.
    *one(
        b'{"execute": query-status}',
        b"foo\n",
        b"}",
        b'{"execute": "query-status",}',
        b'{"execute": "query-status" "id":5}',
        b'"\\x"',
        b"nul\n",
        b'{"a":1}{"b":2}',
    ),
    # Chunked and coalesced.
    ("chunked", [b'{"exe', b'cute": "query-st', b'atus", "i', b'd": 7', b"}"]),
    ("chunked string", [b'{"execute":"q\\', b"u00e9\xc3", b'\xa9", "id": "\xe2\x82', b'\xac"}']),
    ("coalesced", [b'{"execute":"a","id":1}{"execute":"b","id":2}\n[]\n"x"\n 3 {}']),
    # Ids of every JSON type, echoed back by QEMU.
    *ids(
        b"0",
        b"-1",
        b"-0",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"123456789012345678901234567890",
        b"1e400",
        b"-1e400",
        b"0.1",
        b"-1.5",
        b"1e-7",
        b"1e16",
        b"1e17",
        b"5e-324",
        b"1e-400",
        b"1.7976931348623157e308",
        b"-0.0",
        b"123.456e-300",
        b"1E+2",
        b"true",
        b"false",
        b"null",
        b"[]",
        b"{}",
        b'""',
        b'"plain"',
        b'"\\"\\\\\\/\\b\\f\\n\\r\\t"',
        b'"\\u00e9\\u20ac\\u0001\\u001f\\u007f"',
        b'"\xc3\xa9\xe2\x82\xac\x7f"',
        b'"\xf0\x9f\x98\x80\\ud83d\\ude00\\uDBFF\\uDFFD"',
        b'"\\u0000"',
        b'"\xc0\x80"',
        b'"\\ufffd\\ufdcf"',
        b"'single \\' \" quoted'",
        b'{"z":1,"a":[1,{"m":null}],"execute":"k","id":2}',
        _MANY_KEYS,
        b'{"k10":1,"k11":2}',
        b'{"k11":1,"k10":2}',
        b'[1, [2, [3, {"x": [4.5]}]]]',
    ),
    # String errors.
    *ids(
        b'"\\uD800"',
        b'"\\uDC00"',
        b'"\\uD800\\u0041"',
        b'"\\u12"',
        b'"\\u1"',
        b'"\\uFFFE"',
        b'"\\ufdd0"',
        b'"\\uD83F\\uDFFE"',
        b'"\\u123\xc3\xa9"',
        b'"\\u12\xc3\xa9"',
        b'"\\q"',
        b'"\\\xc3\xa9"',
        b'"\xed\xa0\x80"',
        b'"\xef\xbf\xbe"',
        b'"\xc3"',
        b'"\xc0\x81"',
        b'"\xf8\x88\x80\x80\x80"',
        b'"\x80\\q"',
        b'"\\q\x80"',
    ),
    # Lexer errors and recovery.
    *one(
        b"\x80\n",
        b"\xfe\xff\n",
        b"\x00\n",
        b'"ab\tc"\n',
        b'"ab\x00c"\n',
        b'"abc\n',
        b'"\xff\n',
        b'"\xc3\xa9\x01\n',
        b"%d\n",
        b"01 ",
        b"-x\n",
        b"1.e5\n",
        b".5,6 ",
        b"NaN\n",
        b"Infinity\n1 ",
        b"X, 1 ",
        b"x, 1 ",
        b'{"a": X "b"} 7 ',
        b'{"a": x "b"} 7 ',
        b"truefalse\n",
        b"[true1]",
        b":",
        b",",
        b"a" * 1100 + b"\n",
        b'"' + b"b" * 3000 + b"\n",
    ),
    # Parser errors.
    *one(
        b"{1:2}",
        b'{"a" 1}',
        b"[1 2]",
        b'{"a":1,"a":2}',
        b'{"\\u0041":1,"A":2}',
        b'{"a":1,"a":[1,}]',
        b"{]",
        b"[}",
        b"{[1]:2}",
        b"{[1,]:2}",
    ),
    # qmp_dispatch_check_obj() and friends.
    *one(
        b"{}",
        b'{"execute":1}',
        b'{"execute":"x","arguments":1}',
        b'{"foo":1,"bar":2,"execute":"x"}',
        b'{"bar":1,"foo":2,"execute":"x"}',
        b'{"id":1}',
        b'{"execute":"x","arguments":{},"id":"i"}',
        b"[1,2]",
        b'"str"',
        b"1 ",
        b"true\n",
        b"null\n",
        b" \t\r\n",
    ),
    # Nesting: 1024 is fine, the 1025th opening bracket is refused.
    ("nesting 1024", [b"[" * 1024 + b"]" * 1024]),
    ("nesting 1025", [b"[" * 1025 + b"]" * 1025]),
    ("nesting 1025 dict", [b'{"a":' * 1025 + b"1" + b"}" * 1025]),
    ("nesting 512+513", [b"[{" * 512 + b"[" + b"]" + b"}]" * 512]),
    # Left unfinished: nothing arrives, the monitor never flushes.
    ("open message", [b'{"a": [1, ']),
    ("open string", [b'"unterminated']),
    ("open number", [b"12"]),
]


class Connection:
    def __init__(self, qemu: QemuProcess) -> None:
        self.qemu = qemu
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> bytes:
        self.reader, self.writer, greeting = await self.qemu.connect()
        return greeting

    async def reopen(self) -> None:
        self.writer.close()
        await self.open()

    async def read_lines(self, count: int, timeout: float = REPLY_TIMEOUT) -> list[bytes]:
        lines: list[bytes] = []
        try:
            for _ in range(count):
                lines.append(await asyncio.wait_for(self.reader.readuntil(b"\r\n"), timeout))
        except TimeoutError:
            pass
        return lines


async def _run_battery(version: str) -> list[str]:
    failures: list[str] = []
    async with run_qemu(version) as qemu:
        conn = Connection(qemu)
        await conn.open()
        # 11.1's push parser: located errors, recovery by nesting.
        streamer = JSONStreamer(push=get_release(version).json_push_parser)
        for n, (name, chunks) in enumerate(CASES):
            predicted: list[object] = []
            for chunk in chunks:
                conn.writer.write(chunk)
                await conn.writer.drain()
                predicted += streamer.feed(chunk)
            # A request that is answered in order after the case, unless the
            # case left a message unfinished and swallows it.
            sync = {"execute": "sync", "id": f"sync-{n}"}
            sync_bytes = b'{"execute":"sync","id":"sync-%d"}' % n
            conn.writer.write(sync_bytes)
            predicted += streamer.feed(sync_bytes)
            synced = bool(predicted) and predicted[-1] == sync and streamer.is_idle()
            expected = [encode(negotiation_reply(item)) for item in predicted]
            got = await conn.read_lines(len(expected))
            if not synced:
                # Nothing more may arrive; then start afresh.
                got += await conn.read_lines(1, timeout=0.2)
            if got != expected:
                failures.append(f"{name}:\n  expected {expected[:5]!r}\n  got      {got[:5]!r}")
            if not synced or got != expected:
                await conn.reopen()
                streamer.reset()

        # After negotiation: {"return": ...} and other error texts.
        conn.writer.write(b'{"execute":"qmp_capabilities","id":{"a":[1.5,"\\u00e9"],"b":null}}')
        after = [
            b'{"execute":"nope","id":%s}' % lit
            for lit in (b"1", b"1e400", b'"x"', _MANY_KEYS, b"[true,false]")
        ]
        conn.writer.write(b"".join(after))
        predicted = streamer.feed(
            b'{"execute":"qmp_capabilities","id":{"a":[1.5,"\\u00e9"],"b":null}}'
        )
        expected = [encode(negotiation_reply(predicted[0]))]
        for request in after:
            [item] = streamer.feed(request)
            expected.append(encode(negotiation_reply(item, negotiated=True)))
        got = await conn.read_lines(len(expected))
        if got != expected:
            failures.append(f"negotiated:\n  expected {expected!r}\n  got      {got!r}")
        conn.writer.close()
    return failures


@pytest.mark.parametrize("version", QEMU_VERSIONS)
async def test_json_conformance(version: str) -> None:
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} not found at {qemu_binary_candidate(version)}")
    failures = await _run_battery(version)
    assert not failures, f"{len(failures)} mismatches with QEMU {version}:\n" + "\n".join(failures)
