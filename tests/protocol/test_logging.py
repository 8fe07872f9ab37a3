"""Structured logs: connections, commands and errors, never a huge payload."""

from __future__ import annotations

import json
import os
from pathlib import Path

from protocol_harness import run_memdevd, version_argv


async def test_json_log_of_a_session(workdir: Path) -> None:
    log_path = workdir / "memdevd.log"
    argv = version_argv("10.0", "log-level=debug", "log-format=json", f"log-file={log_path}")
    async with run_memdevd(workdir, argv) as md:
        client = await md.connect()
        await client.negotiate()
        await client.ok("query-status")
        reply = await client.execute("device_del", {"id": "nope"}, id=7)
        assert reply["error"]["class"] == "DeviceNotFound"
        huge = "x" * (1 << 20)
        await client.execute("qom-get", {"path": huge, "property": "y"})
        await client.write(b"{'bad\n")
        await client.recv()
        await client.close()
        md.signal(15)
        assert await md.wait() == 0
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    events = [r.get("event") for r in records]
    assert events[0] == "start"
    assert "connect" in events and "disconnect" in events and "json-error" in events
    commands = [r for r in records if r.get("event") == "command"]
    assert [r["command"] for r in commands][:2] == ["qmp_capabilities", "query-status"]
    errors = [r for r in records if r.get("event") == "error"]
    assert errors[0]["command"] == "device_del" and errors[0]["id"] == "7"
    assert errors[0]["error_class"] == "DeviceNotFound"
    assert errors[0]["desc"] == "Device 'nope' not found"
    for r in records:
        assert set(r) >= {"ts", "level", "msg"}
    # The 1 MiB argument is cut short everywhere.
    assert max(len(line) for line in log_path.read_text().splitlines()) < 2000
    assert any("chars)" in r["msg"] for r in records if r.get("command") == "qom-get")


async def test_default_logs_nothing_for_a_quiet_session(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("10.0")) as md:
        client = await md.connect()
        await client.negotiate()
        await client.execute("device_del", {"id": "nope"})
        await client.close()
        md.signal(15)
        assert await md.wait() == 0
        assert md.stderr().startswith(f"memdevd: terminating on signal 15 from pid {os.getpid()} (")
