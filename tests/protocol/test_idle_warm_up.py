"""The daemon's idle-time warm-up is invisible to clients.

After the first command the daemon loads what the first hot-plug needs and
rehearses one object-add + device_add on a scratch copy of the machine
(memdevd/app/daemon.py).  A client must not be able to tell: no events, no
object, device, id, slot or address taken, with a guest that reacts to
hot-plug too.
"""

from __future__ import annotations

import time

import pytest

from memdevd.testing import MemdevdProcess

ARGV = ("-machine", "pc", "-m", "1G,slots=4,maxmem=8G", "-S", "-nodefaults", "-display", "none")


@pytest.mark.parametrize("guest", ["none", "cooperative"])
def test_the_warm_up_leaves_no_trace(guest: str) -> None:
    with MemdevdProcess(*ARGV, guest=guest) as vm:
        objects_before = vm.cmd("qom-list", {"path": "/objects"})
        peripherals_before = vm.cmd("qom-list", {"path": "/machine/peripheral"})
        assert [p for p in peripherals_before if p["type"].startswith("child<")] == []
        time.sleep(0.5)  # the warm-up runs once the first reply is out
        assert vm.events(wait=0.2) == []
        assert vm.cmd("query-memory-devices") == []
        assert vm.cmd("qom-list", {"path": "/objects"}) == objects_before
        assert vm.cmd("qom-list", {"path": "/machine/peripheral"}) == peripherals_before
        # The rehearsal's ids, slot and address are all still free.
        for name in ("rehearsal0", "rehearsal9"):
            vm.cmd("object-add", {"qom-type": "memory-backend-ram", "id": name, "size": 1 << 30})
            vm.cmd("device_add", {"driver": "pc-dimm", "id": name, "memdev": name})
        first, last = vm.cmd("query-memory-devices")
        assert first["data"]["id"] == "rehearsal0"
        assert first["data"]["slot"] == 0
        assert first["data"]["addr"] == 4 << 30  # pc: device memory starts at 4 GiB
        assert last["data"]["slot"] == 1
        assert last["data"]["addr"] == 5 << 30
        assert vm.cmd("query-memory-size-summary") == {
            "base-memory": 1 << 30,
            "plugged-memory": 2 << 30,
        }


def test_the_rehearsal_runs_once_per_process_and_only_where_it_helps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fleet's VMs share the warmed code: only the first rehearses; a
    machine that plugged memory devices at start-up has run their path."""
    from memdevd.app import cli
    from memdevd.app import daemon as daemon_module
    from memdevd.machine import snapshot

    copies: list[object] = []
    real_scratch = snapshot.scratch

    def counting_scratch(machine: object) -> object:
        copies.append(machine)
        return real_scratch(machine)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshot, "scratch", counting_scratch)
    monkeypatch.setattr(daemon_module, "_rehearsed", False)

    def build(*argv: str) -> daemon_module.Daemon:
        parsed = cli.parse([*ARGV, *argv], "memdevd")
        daemon, _ = cli.build_daemon(parsed, "memdevd", handle_signals=False)
        daemon.registry.get("query-version")  # the first command's table
        return daemon

    with_dimm = build("-object", "memory-backend-ram,id=m,size=1G", "-device", "pc-dimm,memdev=m")
    with_dimm._rehearse_hot_plug()
    assert copies == []
    first, second = build(), build()
    first._rehearse_hot_plug()
    second._rehearse_hot_plug()
    assert copies == [first.machine]
