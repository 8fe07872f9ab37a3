"""The pytest plugin shipped with memdevd, used as a user's project uses it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from memdevd.testing import MemdevdError, MemdevdProcess

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_examples() -> str:
    """The Python blocks of the README's pytest section, as a user copies them."""
    text = README.read_text()
    section = text.split("## In your own tests", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 2
    return "\n\n".join(blocks)


def test_user_test_file_passes(pytester: pytest.Pytester) -> None:
    # A user's test file with nothing but memdevd installed: no conftest.py.
    pytester.makepyfile(readme_examples())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_errors_carry_qemu_class_and_text() -> None:
    with MemdevdProcess("-machine", "pc", "-m", "1G,slots=2,maxmem=4G") as vm:
        with pytest.raises(MemdevdError) as err:
            vm.cmd("device_add", {"driver": "pc-dimm", "memdev": "nope"})
        assert (err.value.error_class, err.value.desc) == (
            "DeviceNotFound",
            "Device 'nope' not found",
        )
    assert vm.proc is not None and vm.proc.returncode == 0


def test_factory_starts_independent_daemons(memdevd_factory) -> None:  # type: ignore[no-untyped-def]
    a = memdevd_factory("-machine", "pc", "-m", "1G,slots=2,maxmem=4G", version="7.2")
    b = memdevd_factory("-machine", "q35", "-m", "1G,slots=2,maxmem=4G")
    assert a.cmd("query-version")["qemu"]["major"] == 7
    assert b.cmd("query-version")["qemu"]["major"] == 10
    assert a.socket != b.socket


async def test_async_client() -> None:
    async with MemdevdProcess("-machine", "pc", "-m", "1G,slots=2,maxmem=4G") as vm:
        client = await vm.connect()
        try:
            assert await client.execute("query-memory-devices") == []
        finally:
            await client.disconnect()


def test_bad_command_line_is_reported() -> None:
    with pytest.raises(RuntimeError, match="slots specified but no max-size"):
        MemdevdProcess("-m", "1G,slots=2").start()


def test_a_chatty_daemon_never_blocks_on_its_log() -> None:
    """The daemon's output goes to a file the helper never has to drain:
    far more than a pipe holds (64 KiB) and the daemon still answers."""
    argv = ("-machine", "pc", "-m", "1G,slots=2,maxmem=4G")
    with MemdevdProcess(*argv, memdevd_options=["log-level=debug"]) as vm:
        for _ in range(3000):
            vm.cmd("query-memory-devices")
        log = vm.log()
        assert len(log.encode()) > 64 * 1024
        assert "query-memory-devices" in log
        assert vm.cmd("query-version")["qemu"]["major"] == 10


def test_fleet_vms_behave_as_daemons() -> None:
    """MemdevdProcess(fleet=...): the same API on VMs of one process."""
    from memdevd.testing import MemdevdFleet

    with MemdevdFleet() as fleet:
        a = MemdevdProcess("-machine", "pc", "-m", "1G,slots=2,maxmem=4G", fleet=fleet)
        b = MemdevdProcess("-machine", "q35", "-m", "1G,slots=2,maxmem=4G", version="7.2")
        b.fleet = fleet
        with a, b:
            assert a.proc is b.proc is fleet.proc
            assert a.socket != b.socket
            assert a.cmd("query-version")["qemu"]["major"] == 10
            assert b.cmd("query-version")["qemu"]["major"] == 7
            a.cmd("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 1 << 30})
            a.cmd("device_add", {"driver": "pc-dimm", "id": "d0", "memdev": "m0"})
            assert [d["data"]["id"] for d in a.cmd("query-memory-devices")] == ["d0"]
            assert b.cmd("query-memory-devices") == []
            a.reset()
            assert a.cmd("query-memory-devices") == []
            assert sorted(fleet.vms()) == sorted([a.name, b.name])
        # stop() took both out of the fleet; the process goes on.
        assert fleet.vms() == []
        assert fleet.proc is not None and fleet.proc.poll() is None
        with pytest.raises(RuntimeError, match="slots specified but no max-size"):
            MemdevdProcess("-m", "1G,slots=2", fleet=fleet).start()
        with pytest.raises(RuntimeError, match="-daemonize: not available"):
            MemdevdProcess("-daemonize", fleet=fleet).start()
    assert fleet.proc is not None and fleet.proc.returncode == 0


FLEET_SESSION_TESTS = """
import pytest

pids = set()


@pytest.mark.memdevd("-machine", "pc", "-m", "1G,slots=2,maxmem=4G", version="7.2")
def test_one(memdevd):
    pids.add(memdevd.proc.pid)
    assert memdevd.cmd("query-version")["qemu"]["major"] == 7
    memdevd.cmd("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 1 << 30})


def test_two(memdevd, memdevd_factory):
    pids.add(memdevd.proc.pid)
    other = memdevd_factory("-machine", "pc", "-m", "1G,slots=2,maxmem=4G")
    pids.add(other.proc.pid)
    # A fresh VM: nothing of test_one's is left.
    assert "m0" not in [m.get("id") for m in memdevd.cmd("query-memdev")]


def test_one_process_served_every_test(memdevd_fleet):
    assert memdevd_fleet is not None
    assert pids == {memdevd_fleet.proc.pid}
"""


@pytest.mark.parametrize("how", [["--memdevd-fleet"], ["-o", "memdevd_fleet=true"]])
def test_fleet_option_serves_the_fixtures_from_one_process(
    pytester: pytest.Pytester, how: list[str]
) -> None:
    pytester.makepyfile(FLEET_SESSION_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *how)
    result.assert_outcomes(passed=3)


def test_readme_examples_pass_on_a_fleet(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(readme_examples())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--memdevd-fleet")
    result.assert_outcomes(passed=3)


SLOW_LISTENER = r"""
import json, signal, socket, sys, time
path = next(a for a in sys.argv if a.startswith("unix:"))[5:].split(",")[0]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(path)           # the file exists from here...
time.sleep(0.5)
sock.listen(1)            # ...but connections are refused until here
conn, _ = sock.accept()
conn.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
buffer = ""
while chunk := conn.recv(4096).decode():
    buffer += chunk
    while buffer.strip():  # requests need no newline: one JSON value each
        request, end = json.JSONDecoder().raw_decode(buffer.lstrip())
        buffer = buffer.lstrip()[end:]
        conn.sendall(json.dumps({"return": [], "id": request["id"]}).encode() + b"\r\n")
signal.pause()
"""


def test_a_socket_that_exists_before_it_listens_is_waited_for(tmp_path: Path) -> None:
    """QEMU, like memdevd, binds its socket before it listens: a fixture
    that connected as soon as the file appeared would fail now and then
    with 'Connection refused'."""
    script = tmp_path / "slow_listener.py"
    script.write_text(SLOW_LISTENER)
    with MemdevdProcess(executable=[sys.executable, str(script)]) as vm:
        assert vm.cmd("query-memory-devices") == []
