"""The pytest plugin shipped with memdevd, used as a user's project uses it."""

from __future__ import annotations

import pytest

from memdevd.testing import MemdevdError, MemdevdProcess

README_EXAMPLE = """
import pytest

def test_hotplug(memdevd):
    memdevd.cmd("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 1 << 30})
    memdevd.cmd("device_add", {"driver": "pc-dimm", "id": "d0", "memdev": "m0"})
    [dimm] = memdevd.cmd("query-memory-devices")
    assert dimm["data"]["addr"] == 0x100000000

@pytest.mark.memdevd("-machine", "pc", "-m", "1G,slots=2,maxmem=4G", version="7.2",
                     guest="cooperative")
def test_unplug_completes(memdevd):
    assert memdevd.greeting["QMP"]["version"]["qemu"]["major"] == 7
    memdevd.cmd("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 1 << 30})
    memdevd.cmd("device_add", {"driver": "pc-dimm", "id": "d0", "memdev": "m0"})
    memdevd.cmd("device_del", {"id": "d0"})
    names = [e["event"] for e in memdevd.events(wait=1.0)]
    assert "DEVICE_DELETED" in names
    assert memdevd.cmd("query-memory-devices") == []
"""


def test_user_test_file_passes(pytester: pytest.Pytester) -> None:
    # A user's test file with nothing but memdevd installed: no conftest.py.
    pytester.makepyfile(README_EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


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
