"""memdevd's QMP over a raw UNIX socket: framing, many clients, misbehaving clients.

QMP is a byte stream: how a client cuts its writes must not change the
replies, and every reply and event is one line ending in ``\\r\\n``.  memdevd
serves several clients on one socket, each negotiating on its own, every
negotiated one receiving the events; a client that disconnects in the middle
of a request, sends garbage, or floods requests without reading its replies
does not disturb the others; past ``-memdevd max-clients=N`` a new client
waits, ungreeted, until another one leaves.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import pytest
from protocol_harness import (
    PC_ARGV,
    REPLY_TIMEOUT,
    GiB,
    MemdevdProcess,
    RawQMP,
    mask_event,
    open_unix,
    run_memdevd,
    version_argv,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import qemu_binary, run_qemu

NEGOTIATION_ERROR = {
    "error": {
        "class": "CommandNotFound",
        "desc": "Expecting capabilities negotiation with 'qmp_capabilities'",
    }
}

# query-status of a 7.2 machine started with -S.
PRELAUNCH_72 = {"status": "prelaunch", "singlestep": False, "running": False}

# Requests whose replies must not depend on how the bytes are cut: state
# changes, errors, ids of several types (a non-ASCII one split inside its
# UTF-8 sequences), single quotes, no whitespace between requests.
SCRIPT: list[bytes] = [
    b'{"execute": "qmp_capabilities"}',
    b'{"execute":"object-add","arguments":{"qom-type":"memory-backend-ram","id":"m0",'
    b'"size":1073741824},"id":1}',
    b'{"execute":"device_add","arguments":{"driver":"pc-dimm","id":"d0","memdev":"m0"},'
    b'"id":"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}',
    b'{"execute":"device_add","arguments":{"driver":"pc-dimm","id":"d1","memdev":"m0"},'
    b'"id":[1,{"a":null}]}',
    b"{'execute':'query-memory-devices','id':12345678901234567890}",
    b'{"execute":"qom-get","arguments":{"path":"/machine/peripheral/d0","property":"addr"},'
    b'"id":-1.5}',
    b'{"execute":"no-such-command","id":true}',
    b'{"execute":"query-status","arguments":{"bogus":1}}',
    b'  \n{"execute":"query-memory-size-summary"}\n',
]


def check_lines(data: bytes) -> list[bytes]:
    """Split a stream into lines; each must end in CRLF and hold no other CR or LF."""
    assert data.endswith(b"\r\n"), data[-200:]
    lines = [line + b"\r\n" for line in data.split(b"\r\n")[:-1]]
    for line in lines:
        body = line[:-2]
        assert b"\n" not in body and b"\r" not in body, line
        json.loads(body)
    return lines


async def whole_requests(md: MemdevdProcess) -> list[bytes]:
    """One write per request, each reply read before the next request."""
    client = await md.connect()
    replies = []
    for request in SCRIPT:
        await client.write(request)
        replies.append(await client.recv_line())
    await client.nothing_arrives()
    await client.close()
    return replies


async def byte_by_byte(md: MemdevdProcess, count: int) -> list[bytes]:
    """Every byte of the whole script in its own write."""
    client = await md.connect()
    for i, byte in enumerate(b"".join(SCRIPT)):
        await client.write(bytes([byte]))
        if i % 8 == 0:
            await asyncio.sleep(0.0005)  # let memdevd read small pieces
    replies = [await client.recv_line() for _ in range(count)]
    await client.nothing_arrives()
    await client.close()
    return replies


async def coalesced(md: MemdevdProcess, count: int) -> list[bytes]:
    """The whole script in a single write."""
    client = await md.connect()
    await client.write(b"".join(SCRIPT))
    replies = [await client.recv_line() for _ in range(count)]
    await client.nothing_arrives()
    await client.close()
    return replies


async def test_write_boundaries_do_not_change_replies(workdir: Path) -> None:
    dirs = [workdir / name for name in ("whole", "bytes", "one")]
    for d in dirs:
        d.mkdir()
    async with (
        run_memdevd(dirs[0], version_argv("7.2")) as md_whole,
        run_memdevd(dirs[1], version_argv("7.2")) as md_bytes,
        run_memdevd(dirs[2], version_argv("7.2")) as md_one,
    ):
        reference = await whole_requests(md_whole)
        count = len(reference)
        split, joined = await asyncio.gather(
            byte_by_byte(md_bytes, count), coalesced(md_one, count)
        )
    assert split == reference
    assert joined == reference
    assert check_lines(b"".join(reference)) == reference
    replies = [json.loads(line) for line in reference]
    assert replies[0] == {"return": {}}
    assert replies[1] == {"return": {}, "id": 1}
    assert replies[2] == {"return": {}, "id": "é€😀"}
    assert replies[3]["id"] == [1, {"a": None}]
    assert replies[3]["error"]["desc"] == "can't use already busy memdev: m0"
    assert replies[4]["id"] == 12345678901234567890
    assert [d["data"]["id"] for d in replies[4]["return"]] == ["d0"]
    assert replies[5] == {"return": 4 * GiB, "id": -1.5}
    assert replies[6]["id"] is True and replies[6]["error"]["class"] == "CommandNotFound"
    assert replies[7]["error"]["class"] == "GenericError" and "id" not in replies[7]
    assert replies[8] == {"return": {"base-memory": GiB, "plugged-memory": GiB}}


async def half_closed_exchange(path: str, data: bytes) -> list[bytes]:
    """Write everything, shut the write side (as socat or nc do), read to EOF."""
    reader, writer = await open_unix(path)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    out = await asyncio.wait_for(reader.read(), REPLY_TIMEOUT)
    writer.close()
    return check_lines(out)


async def test_half_closed_client_gets_every_reply(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        reference = await whole_requests(md)
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        await (await md.connect()).close()  # listening
        lines = await half_closed_exchange(str(md.socket_path), b"".join(SCRIPT))
        assert md.process.returncode is None
    assert "QMP" in json.loads(lines[0])
    assert lines[1:] == reference


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", ["7.2", "10.0"])
async def test_script_replies_like_qemu(workdir: Path, version: str) -> None:
    """SCRIPT in one write then a half-close: QEMU's reply bytes, byte for byte."""
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} is not installed")
    qemu_argv = [*PC_ARGV, "-accel", "tcg"]
    async with run_qemu(version, qemu_argv) as qemu:
        _, writer, _ = await qemu.connect()
        writer.close()
        expected = await half_closed_exchange(qemu.socket_path, b"".join(SCRIPT))
    async with run_memdevd(workdir, version_argv(version)) as md:
        await (await md.connect()).close()
        lines = await half_closed_exchange(str(md.socket_path), b"".join(SCRIPT))
    assert lines[1:] == expected[1:]
    assert len(lines) == len(SCRIPT) + 1


async def test_replies_and_events_end_in_crlf(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("10.0")) as md:
        client = await md.connect()
        await client.write(
            b'{"execute":"qmp_capabilities"}{"execute":"cont"}{"execute":"stop"}'
            b'{"execute":"query-status","id":"s"}{"execute":"quit"}'
        )
        data = await client.read_to_eof()
        assert await md.wait() == 0
    lines = check_lines(client.lines[0] + data)
    messages = [json.loads(line) for line in lines]
    assert "QMP" in messages[0]
    events = [mask_event(m) for m in messages if "event" in m]
    assert events == [
        {"event": "RESUME"},
        {"event": "STOP"},
        {"event": "SHUTDOWN", "data": {"guest": False, "reason": "host-qmp-quit"}},
    ]
    replies = [m for m in messages[1:] if "event" not in m]
    assert replies == [
        {"return": {}},
        {"return": {}},
        {"return": {}},
        {"return": {"running": False, "status": "paused"}, "id": "s"},
        {"return": {}},
    ]


async def test_clients_negotiate_independently_and_all_get_events(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        a = await md.connect()
        b = await md.connect()
        c = await md.connect()
        assert a.greeting == b.greeting == c.greeting
        await a.negotiate()
        # a's negotiation is a's alone.
        assert await c.execute("query-status") == NEGOTIATION_ERROR
        await b.negotiate()
        assert await b.execute("qmp_capabilities") == {
            "error": {
                "class": "CommandNotFound",
                "desc": "Capabilities negotiation is already complete, command ignored",
            }
        }
        assert await a.execute("cont") == {"return": {}}
        for client in (a, b):
            assert mask_event(await client.event("RESUME")) == {"event": "RESUME"}
        # Not negotiated: no event, and none is kept for later.
        await c.nothing_arrives()
        await c.negotiate()
        assert c.events == []
        assert await b.execute("stop") == {"return": {}}
        for client in (a, b, c):
            assert mask_event(await client.event("STOP")) == {"event": "STOP"}
            await client.nothing_arrives(0.05)
        # Each sees the same machine.
        await a.ok("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": GiB})
        memdevs = await c.ok("query-memdev")
        assert "m0" in [m.get("id") for m in memdevs]
        for client in (a, b, c):
            await client.close()


async def test_disconnect_mid_request_and_garbage_leave_others_alone(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        good = await md.connect()
        await good.negotiate()

        # Half a request, then gone: nothing of it is executed.
        quitter = await md.connect()
        await quitter.negotiate()
        await quitter.write(
            b'{"execute":"object-add","arguments":{"qom-type":"memory-backend-ram",'
            b'"id":"half","size":1073741824'
        )
        await quitter.close()

        # Gone without reading its replies (a reset for memdevd's next write).
        rude = await md.connect()
        await rude.write(b'{"execute":"qmp_capabilities"}' + b'{"execute":"query-commands"}' * 50)
        await asyncio.sleep(0.05)
        rude.writer.transport.abort()

        # Garbage: answered with errors, the connection still usable.  The
        # trailing 0xff makes QEMU's lexer start afresh, whatever came before.
        junk = await md.connect()
        await junk.write(b"\x00}]{]garbage [1, 2] 'str' {\"execute\": 12}\xff")
        await junk.write(b'{"execute":"qmp_capabilities","id":"cap"}')
        errors = []
        while (message := await junk.recv()).get("id") != "cap":
            errors.append(message)
        assert message == {"return": {}, "id": "cap"}
        assert errors, "garbage got no error reply"
        assert all(set(e) == {"error"} and set(e["error"]) == {"class", "desc"} for e in errors)

        # Nesting bomb from another client.
        bomb = await md.connect()
        await bomb.write(b"[" * 2000 + b"]" * 2000)
        await bomb.close()

        assert await good.execute("query-status", id="after") == {
            "return": PRELAUNCH_72,
            "id": "after",
        }
        await good.nothing_arrives()
        memdevs = await good.ok("query-memdev")
        assert "half" not in [m.get("id") for m in memdevs]
        assert md.process.returncode is None
        await junk.close()
        await good.close()


async def test_client_limit_third_client_waits_for_a_slot(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2", "max-clients=2")) as md:
        first = await md.connect()
        second = await md.connect()
        third = await md.connect(greet=False)  # connected by the kernel, not greeted
        await first.negotiate()
        await third.nothing_arrives()
        # A waiting client gets no events either.
        await first.ok("cont")
        await third.nothing_arrives()
        await second.close()
        assert await third.recv() == first.greeting
        await third.negotiate()
        await first.ok("stop")
        assert mask_event(await third.event("STOP")) == {"event": "STOP"}
        await first.close()
        await third.close()


async def test_client_limit_waiting_client_is_not_read(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2", "max-clients=1")) as md:
        first = await md.connect()
        waiting = await md.connect(greet=False)
        await waiting.write(b'{"execute":"qmp_capabilities","id":"early"}')
        await waiting.nothing_arrives()
        await first.close()
        assert await waiting.recv() == first.greeting
        # What it sent while waiting is read once it is served.
        assert await waiting.recv() == {"return": {}, "id": "early"}
        await waiting.close()


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", ["7.2", "10.0"])
async def test_qemu_waiting_client_is_not_read(version: str) -> None:
    """QEMU serves one client per -qmp socket: the next waits, unread, as over max-clients."""
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} is not installed")
    async with run_qemu(version) as qemu:
        _, first, greeting = await qemu.connect()
        reader, writer = await asyncio.open_unix_connection(qemu.socket_path)
        waiting = RawQMP(reader, writer)
        await waiting.write(b'{"execute":"qmp_capabilities","id":"early"}')
        await waiting.nothing_arrives()
        first.close()
        assert await waiting.recv_line() == greeting
        assert await waiting.recv() == {"return": {}, "id": "early"}
        await waiting.close()


async def test_client_limit_waiting_client_that_leaves(workdir: Path) -> None:
    async with run_memdevd(workdir, [*version_argv("7.2", "max-clients=1")]) as md:
        first = await md.connect()
        leaver = await md.connect(greet=False)
        await leaver.nothing_arrives(0.1)
        await leaver.close()
        waiting = await md.connect(greet=False)
        await waiting.nothing_arrives(0.1)
        await first.close()
        # The client that left is skipped; the next one is served.
        greeting = await waiting.recv()
        assert "QMP" in greeting
        await waiting.negotiate()
        assert await waiting.execute("query-status") == {"return": PRELAUNCH_72}
        await waiting.close()


async def flood_and_check(flooder: socket.socket, reader: RawQMP) -> None:
    """Flood from ``flooder`` until memdevd stops reading; ``reader`` is still served."""
    requests = [b'{"execute":"qmp_capabilities"}']
    requests += [b'{"execute":"query-memory-devices","id":%d}' % i for i in range(1, 400_000)]
    payload = b"".join(requests)
    sent = 0
    stalls = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLY_TIMEOUT
    while sent < len(payload) and loop.time() < deadline:
        try:
            sent += flooder.send(payload[sent : sent + 65536])
            stalls = 0
        except BlockingIOError:
            stalls += 1
            if stalls > 20:  # memdevd stopped reading: flow control holds
                break
            await asyncio.sleep(0.01)
    assert sent < len(payload), f"memdevd read {sent} bytes while nobody read the replies"

    # Meanwhile another client is served promptly.
    for i in range(20):
        assert await reader.execute("query-status", id=i) == {"return": PRELAUNCH_72, "id": i}

    # Once the flooder reads, every request it had sent is answered, in order.
    flooder.setblocking(True)
    flooder.settimeout(REPLY_TIMEOUT)
    complete = payload[:sent].count(b"}{") + (1 if payload[:sent].endswith(b"}") else 0)
    buf = b""
    lines: list[bytes] = []
    while len(lines) < complete + 1:  # the greeting, then one reply per request
        chunk = await loop.run_in_executor(None, flooder.recv, 1 << 20)
        assert chunk, "memdevd closed the flooding client"
        buf += chunk
        *done, buf = buf.split(b"\r\n")
        lines += done
    assert len(lines) == complete + 1 and buf == b""
    assert json.loads(lines[1]) == {"return": {}}
    replies = [json.loads(line) for line in lines[2:]]
    assert replies == [{"return": [], "id": i} for i in range(1, complete)]


async def test_client_that_never_reads_does_not_block_others(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        reader = await md.connect()
        await reader.negotiate()

        # The flooder: a blocking-free raw socket that writes until memdevd
        # stops reading (its replies pile up unread), bounded in size.
        assert md.socket_path is not None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as flooder:
            flooder.connect(os.fspath(md.socket_path))
            flooder.setblocking(False)
            await flood_and_check(flooder, reader)
        await reader.close()
