"""The pytest plugin shipped with memdevd, used as a user's project uses it."""

from __future__ import annotations

import re
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
