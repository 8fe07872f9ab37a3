"""Fuzzing over a real socket, at lower volume than the in-process suite.

Random bytes (JSON-ish fragments, garbage, partial requests, valid commands
with random arguments) go to one daemon over fresh connections; after each
input the daemon still greets and answers ``query-status``, and the
connection that sent the input is either answered or closed, never hung.
``MEMDEVD_FUZZ_EXAMPLES`` raises the count for a long run.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memdevd.testing import MemdevdProcess

EXAMPLES = int(os.environ.get("MEMDEVD_FUZZ_EXAMPLES", "0"))

fragments = st.sampled_from(
    [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"execute"',
        b":",
        b",",
        b'"',
        b"'",
        b"\n",
        b"\\",
        b"\xff",
        b'"arguments"',
        b'{"execute": "device_add", "arguments": ',
        b'"qmp_capabilities"',
        b'{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "size": ',
        b"1e308",
        b"-1",
        b"18446744073709551616",
        b"null",
        b"true",
        b'"id"',
        b"\x00",
    ]
)
commands = st.sampled_from(
    [
        "query-status",
        "device_add",
        "object-add",
        "device_del",
        "qom-set",
        "qom-get",
        "qom-list",
        "human-monitor-command",
        "x-memdevd-set-guest",
        "stop",
        "cont",
    ]
).flatmap(
    lambda name: st.dictionaries(
        st.sampled_from(
            [
                "id",
                "driver",
                "memdev",
                "path",
                "property",
                "value",
                "qom-type",
                "size",
                "command-line",
            ]
        ),
        st.one_of(st.text(max_size=6), st.integers(-5, 1 << 40), st.booleans(), st.none()),
        max_size=4,
    ).map(lambda args: json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
)


@pytest.fixture(scope="module")
def daemon() -> Iterator[str]:
    with MemdevdProcess(
        "-machine", "q35", "-m", "1G,slots=4,maxmem=16G", guest="cooperative"
    ) as vm:
        yield vm.socket
        assert vm.proc is not None and vm.proc.poll() is None, "the daemon died"


def exchange(path: str, data: bytes) -> None:
    """Send ``data`` after negotiating; read whatever comes until quiet or closed."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    try:
        s.recv(4096)  # greeting
        s.sendall(b'{"execute": "qmp_capabilities"}\n' + data)
        s.settimeout(0.05)
        while True:
            try:
                if not s.recv(1 << 16):
                    break
            except TimeoutError:
                break
    finally:
        s.close()


def still_answers(path: str) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    f = s.makefile("rb")
    assert f.readline().startswith(b'{"QMP"')
    s.sendall(b'{"execute": "qmp_capabilities"}\n{"execute": "query-status", "id": "probe"}\n')
    assert json.loads(f.readline()) == {"return": {}}
    while True:
        msg = json.loads(f.readline())
        if msg.get("id") == "probe":
            assert "status" in msg["return"]
            break
    s.close()


@settings(max_examples=EXAMPLES or 60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(fragments, commands, st.binary(max_size=16)), max_size=12))
def test_daemon_survives_any_input(daemon: str, pieces: list[bytes]) -> None:
    exchange(daemon, b"".join(pieces))
    still_answers(daemon)


def test_probe_itself(daemon: str) -> None:
    still_answers(daemon)
