"""Hostile clients do not stall the others nor grow memory without bound.

Each test runs one attack against a daemon while a well-behaved client
keeps doing round trips on another connection.  The assertions are about
liveness and boundedness (generous limits, so a slow CI machine passes);
the measured figures are in docs/robustness.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from protocol_harness import MemdevdProcess, RawQMP, run_memdevd, version_argv

from memdevd.testing import rss_kib

# A well-behaved client's round trip must never take longer than this
# during an attack (a stall, not a slowdown, is what this catches).
STALL = 5.0
# RSS growth allowed during an attack.
GROWTH_KIB = 64 * 1024


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@contextlib.asynccontextmanager
async def daemon(workdir: Path) -> AsyncIterator[tuple[MemdevdProcess, RawQMP]]:
    async with run_memdevd(workdir, version_argv("10.0")) as md:
        good = await md.connect()
        await good.negotiate()
        yield md, good
        await good.close()


async def good_round_trips(client: RawQMP, seconds: float) -> list[float]:
    """Round trips of query-status for ``seconds``; each must finish."""
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        reply = await asyncio.wait_for(client.execute("query-status"), STALL)
        assert "return" in reply
        times.append(time.monotonic() - started)
        await asyncio.sleep(0.005)
    if times:
        # The figures docs/robustness.md quotes (pytest -s shows them).
        ordered = sorted(times)
        print(
            f"well-behaved client: {len(times)} round trips,"
            f" p50 {ordered[len(ordered) // 2] * 1e3:.2f} ms, max {ordered[-1] * 1e3:.2f} ms"
        )
    return times


async def test_client_that_never_reads(workdir: Path) -> None:
    async with daemon(workdir) as (md, good):
        before = rss_kib(md.pid)
        _reader, writer = await asyncio.open_unix_connection(str(md.socket_path))
        writer.write(b'{"execute": "qmp_capabilities"}\n')
        # Tens of MB of requests; the replies pile up unread.
        chunk = b'{"execute": "query-memory-devices"}\n' * 2000

        async def flood() -> None:
            with contextlib.suppress(ConnectionError, OSError):
                for _ in range(300):
                    writer.write(chunk)
                    await asyncio.wait_for(writer.drain(), 0.5)

        with contextlib.suppress(TimeoutError):
            await flood()  # the daemon stops reading: drain() blocks
        times = await good_round_trips(good, 1.0)
        assert times
        assert rss_kib(md.pid) - before < GROWTH_KIB
        writer.close()


async def test_client_sending_one_byte_at_a_time(workdir: Path) -> None:
    async with daemon(workdir) as (md, good):
        reader, writer = await asyncio.open_unix_connection(str(md.socket_path))
        await reader.readline()
        request = b'{"execute": "qmp_capabilities"}\n{"execute": "query-status"}\n'

        async def trickle() -> None:
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.02)

        trickling = asyncio.ensure_future(trickle())
        times = await good_round_trips(good, 1.0)
        await trickling
        assert times
        # The trickled requests were answered all the same.
        assert b'"return": {}' in await asyncio.wait_for(reader.readline(), STALL)
        assert b'"status"' in await asyncio.wait_for(reader.readline(), STALL)
        writer.close()


async def test_client_flooding_commands(workdir: Path) -> None:
    async with daemon(workdir) as (md, good):
        flooder = await md.connect()
        await flooder.negotiate()
        stop = asyncio.Event()

        async def flood() -> int:
            sent = 0
            while not stop.is_set():
                await flooder.write(b'{"execute": "query-version"}\n' * 200)
                for _ in range(200):
                    await flooder.recv()
                sent += 200
            return sent

        flooding = asyncio.ensure_future(flood())
        times = await good_round_trips(good, 1.0)
        stop.set()
        sent = await flooding
        assert times and sent > 0
        await flooder.close()


async def test_connect_disconnect_loop(workdir: Path) -> None:
    async with daemon(workdir) as (md, good):
        await good_round_trips(good, 0.1)
        fds, before = open_fds(md.pid), rss_kib(md.pid)
        for i in range(300):
            reader, writer = await asyncio.open_unix_connection(str(md.socket_path))
            if i % 2:
                await reader.readline()
            writer.close()
        times = await good_round_trips(good, 0.5)
        assert times
        # Nothing leaks: descriptors back to where they were, memory bounded.
        for _ in range(100):
            if open_fds(md.pid) <= fds:
                break
            await asyncio.sleep(0.02)
        assert open_fds(md.pid) <= fds
        assert rss_kib(md.pid) - before < GROWTH_KIB
